//! Samples of the target process from /proc: CPU time, memory and open files.

use std::path::PathBuf;

/// Reads from /proc about one process.
#[derive(Clone, Debug)]
pub struct ProcSampler {
    pid: u32,
    ticks_per_second: f64,
}

/// Open file descriptors of a process.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fds {
    /// All open descriptors.
    pub total: u64,
    /// Those that are sockets.
    pub sockets: u64,
}

impl ProcSampler {
    /// A sampler of process `pid`.
    pub fn new(pid: u32) -> Self {
        ProcSampler {
            pid,
            ticks_per_second: clock_ticks(),
        }
    }

    /// User plus system CPU time of the process, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name may contain spaces: fields are counted after its ')'.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / self.ticks_per_second)
    }

    fn status_kib(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix(':')?;
            value.split_whitespace().next()?.parse().ok()
        })
    }

    /// Resident memory now, in MiB (`VmRSS`).
    pub fn rss_mib(&self) -> Option<f64> {
        self.status_kib("VmRSS").map(|k| k as f64 / 1024.0)
    }

    /// Peak resident memory since start, in MiB (`VmHWM`).
    pub fn hwm_mib(&self) -> Option<f64> {
        self.status_kib("VmHWM").map(|k| k as f64 / 1024.0)
    }

    /// Open descriptors, counted from /proc/PID/fd.
    pub fn fds(&self) -> Option<Fds> {
        let dir = PathBuf::from(format!("/proc/{}/fd", self.pid));
        let mut fds = Fds::default();
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            fds.total += 1;
            if let Ok(target) = std::fs::read_link(entry.path())
                && target.to_string_lossy().starts_with("socket:")
            {
                fds.sockets += 1;
            }
        }
        Some(fds)
    }

    /// Whether the process still exists.
    pub fn alive(&self) -> bool {
        std::fs::metadata(format!("/proc/{}", self.pid)).is_ok()
    }
}

/// CPU time of this process (the load generator itself), in seconds.
pub fn own_cpu_seconds() -> Option<f64> {
    ProcSampler::new(std::process::id()).cpu_seconds()
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be read.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let me = ProcSampler::new(std::process::id());
        assert!(me.cpu_seconds().unwrap() >= 0.0);
        assert!(me.rss_mib().unwrap() > 0.0);
        assert!(me.hwm_mib().unwrap() >= me.rss_mib().unwrap() * 0.5);
        assert!(me.fds().unwrap().total >= 3);
        assert!(me.alive());
    }
}
