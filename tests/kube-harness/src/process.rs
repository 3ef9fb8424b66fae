//! Child processes for tests: each runs in its own process group, dies with the test
//! process, logs to a file, and is killed when its [`Process`] is dropped.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{HarnessError, io};

/// A child process run by a keeper thread that kills its whole process group on
/// [`Process::stop`] or drop. Started through `setpriv --pdeathsig KILL` when available,
/// so it also dies with the test process if that is killed outright.
pub struct Process {
    name: String,
    pid: u32,
    log: PathBuf,
    exited: Arc<Mutex<Option<ExitStatus>>>,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl Process {
    /// Starts `program` with `args`, standard output and error going to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Process, HarnessError> {
        Process::spawn_with_env(name, program, args, &[], log)
    }

    /// [`Process::spawn`] with extra environment variables.
    pub fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: PathBuf,
    ) -> Result<Process, HarnessError> {
        let out = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
        let err = out.try_clone().map_err(io("duplicating the log file"))?;
        let mut command = if Path::new("/usr/bin/setpriv").is_file() {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args(["--pdeathsig", "KILL", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // The keeper thread spawns the child and lives as long as it: the parent-death
        // signal fires when the spawning thread ends, not only the process.
        let (pid_tx, pid_rx) = mpsc::channel::<Result<u32, std::io::Error>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let exited = Arc::new(Mutex::new(None));
        let exited_in = exited.clone();
        let keeper = std::thread::Builder::new()
            .name(format!("keeper-{name}"))
            .spawn(move || {
                let mut child: Child = match command.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = pid_tx.send(Err(e));
                        return;
                    }
                };
                let _ = pid_tx.send(Ok(child.id()));
                // Until stop is asked or the owner is gone, watch for an early exit.
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stop_rx.recv_timeout(Duration::from_millis(100))
                {
                    if let Ok(Some(status)) = child.try_wait() {
                        *exited_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
                        return;
                    }
                }
                kill_group(child.id());
                let _ = child.kill();
                if let Ok(status) = child.wait() {
                    *exited_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
                }
            })
            .map_err(io("starting a keeper thread"))?;
        let pid = pid_rx
            .recv()
            .map_err(|_| HarnessError::Io {
                what: format!("starting {name}"),
                source: std::io::Error::other("keeper thread ended"),
            })?
            .map_err(io(format!("starting {}", program.display())))?;
        Ok(Process {
            name: name.to_string(),
            pid,
            log,
            exited,
            stop: Some(stop_tx),
            keeper: Some(keeper),
        })
    }

    /// The name it was started with (used in errors and log excerpts).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process's PID (of `setpriv`, which execs the program, so the same).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How the process exited, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exited.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything the process logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// An error with the end of the log when the process has exited.
    pub fn check_running(&self) -> Result<(), HarnessError> {
        match self.exit_status() {
            Some(status) => Err(HarnessError::Exited {
                process: self.name.clone(),
                status,
                log: self.log_tail(15),
            }),
            None => Ok(()),
        }
    }

    /// Waits until a log line contains `needle` and returns that line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<String, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log_text().lines().find(|l| l.contains(needle)) {
                return Ok(line.to_string());
            }
            self.check_running()?;
            if Instant::now() > deadline {
                return Err(HarnessError::Io {
                    what: format!(
                        "waiting {timeout:?} for {needle:?} in {}'s log; last lines:\n{}",
                        self.name,
                        self.log_tail(15)
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::TimedOut),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kills the process group at once (SIGKILL) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to the process group led by `pid` (the child was made a group leader).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
