//! The node's network namespace: `ip netns add`, loopback and a veth pair with both ends
//! inside (the kernels here have no dummy interfaces) holding the node's address, no link
//! to the host and no default route; commands run in it with
//! `nsenter --net` (only the network namespace: mounts stay shared with the host, which
//! containerd and the kubelet need); and a loopback TCP forwarder that lets host-side
//! clients (kubectl, helm, kube-rs) reach the API server inside it.

use std::fs::File;
use std::io::Write as _;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::{NODE_IP, SERVICE_CIDR};
use crate::{HarnessError, io};

/// Where `ip netns` keeps its namespaces.
pub(crate) const NETNS_DIR: &str = "/run/netns";

/// The interface that holds the node's address: one end of a veth pair whose other end,
/// [`NODE_LINK_PEER`], is also in the namespace and has no address (a stand-in for a
/// dummy interface).
const NODE_LINK: &str = "larum0";
const NODE_LINK_PEER: &str = "larum0-peer";

/// A network namespace created with `ip netns add`, deleted by [`NetNs::delete`].
pub(crate) struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates the namespace and sets up lo, the node address and the Service route;
    /// deletes it again when a step fails.
    pub(crate) fn create(name: &str) -> Result<NetNs, HarnessError> {
        run("ip", &["netns", "add", name])?;
        let ns = NetNs {
            name: name.to_string(),
        };
        match ns.set_up() {
            Ok(()) => Ok(ns),
            Err(e) => {
                let _ = ns.delete();
                Err(e)
            }
        }
    }

    fn set_up(&self) -> Result<(), HarnessError> {
        let (ns, name) = (self, self.name.as_str());
        let node_cidr = format!("{NODE_IP}/32");
        let steps: [&[&str]; 8] = [
            &["link", "set", "lo", "up"],
            &[
                "link",
                "add",
                NODE_LINK,
                "type",
                "veth",
                "peer",
                "name",
                NODE_LINK_PEER,
            ],
            &["addr", "add", &node_cidr, "dev", NODE_LINK],
            &["link", "set", NODE_LINK_PEER, "up"],
            &["link", "set", NODE_LINK, "up"],
            // Locally made packets to a ClusterIP need a route before kube-proxy's OUTPUT
            // DNAT rewrites them; there is no default route to fall back on.
            &["route", "add", SERVICE_CIDR, "dev", NODE_LINK],
            &["route", "show"],
            &["link", "show"],
        ];
        for step in steps {
            let mut args = vec!["-n", name];
            args.extend_from_slice(step);
            run("ip", &args)?;
        }
        // Pod -> ClusterIP -> pod on the same bridge: the reply must pass iptables to be
        // un-DNATed (per network namespace since Linux 5.3; br_netfilter must be loaded).
        for (key, value) in [
            ("net/bridge/bridge-nf-call-iptables", "1"),
            ("net/ipv4/ip_forward", "1"),
        ] {
            let out = ns.exec(&["sh", "-c", &format!("echo {value} > /proc/sys/{key}")])?;
            if !out.status.success() {
                return Err(HarnessError::Requirement(format!(
                    "setting {key} in the node's network namespace failed ({}); is br_netfilter loaded?",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        Ok(())
    }

    /// Its bind-mounted file, `/run/netns/NAME`.
    pub(crate) fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// The `nsenter` prefix that runs a program in the namespace.
    pub(crate) fn nsenter_args(&self) -> Vec<String> {
        vec![format!("--net={}", self.path().display()), "--".to_string()]
    }

    /// Runs `cmd` in the namespace and returns its output (whatever its exit status).
    pub(crate) fn exec(&self, cmd: &[&str]) -> Result<Output, HarnessError> {
        Command::new("nsenter")
            .args(self.nsenter_args())
            .args(cmd)
            .stdin(Stdio::null())
            .output()
            .map_err(io(format!("running {cmd:?} in {}", self.name)))
    }

    /// Deletes the namespace (`ip netns del`).
    pub(crate) fn delete(&self) -> Result<(), HarnessError> {
        run("ip", &["netns", "del", &self.name]).map(drop)
    }
}

/// Runs a host command, failing with its standard error.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, HarnessError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {program} {}", args.join(" "))))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HarnessError::Command {
            command: format!("{program} {}", args.join(" ")),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Accepts TCP connections on 127.0.0.1:PORT on the host and relays each to `target`
/// inside a network namespace: a thread per connection joins the namespace (setns
/// affects only the calling thread) and connects from there.
pub(crate) struct Forwarder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on a free loopback port and relays to `target` in the namespace at `netns`.
    pub(crate) fn start(netns: &Path, target: SocketAddr) -> Result<Forwarder, HarnessError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(io("binding the API server forwarder"))?;
        let addr = listener
            .local_addr()
            .map_err(io("reading the forwarder's address"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_in = stop.clone();
        let netns = netns.to_path_buf();
        let accept = std::thread::Builder::new()
            .name("node-forwarder".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop_in.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = conn else { continue };
                    let netns = netns.clone();
                    let _ = std::thread::Builder::new()
                        .name("node-forward-conn".into())
                        .spawn(move || relay(client, &netns, target));
                }
            })
            .map_err(io("starting the forwarder thread"))?;
        Ok(Forwarder {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    /// The host-side address, 127.0.0.1:PORT.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting (open connections end when either side closes).
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects to `target` from inside the namespace and copies both ways until both close.
fn relay(client: TcpStream, netns: &Path, target: SocketAddr) {
    let joined = File::open(netns).and_then(|ns| {
        move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
            .map_err(std::io::Error::from)
    });
    let upstream = match joined.and_then(|()| TcpStream::connect(target)) {
        Ok(s) => s,
        Err(e) => {
            let _ = (&client).write_all(format!("forwarder: {e}\n").as_bytes());
            return;
        }
    };
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || copy_then_close(upstream2, client2));
    copy_then_close(client, upstream);
    let _ = back.join();
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
