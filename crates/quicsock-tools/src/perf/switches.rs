//! Context switches of a process, every thread summed (`voluntary_ctxt_switches` and
//! `nonvoluntary_ctxt_switches` of each `/proc/PID/task/TID/status`): a thread hop or a
//! lock fight per batch shows as voluntary switches, a core shared by too many busy
//! threads as involuntary ones.

use std::io;

/// Voluntary and involuntary context switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// The thread gave up the CPU (it blocked: a lock, a wait, a syscall).
    pub voluntary: u64,
    /// The scheduler took the CPU away.
    pub involuntary: u64,
}

impl Switches {
    /// So far, summed over the threads `pid` has now (this process without one).
    pub fn of(pid: Option<u32>) -> io::Result<Self> {
        let dir = pid.map_or_else(
            || "/proc/self/task".to_owned(),
            |p| format!("/proc/{p}/task"),
        );
        let mut total = Self::default();
        for task in std::fs::read_dir(dir)? {
            // A thread that ended meanwhile has no status to read.
            let Ok(status) = std::fs::read_to_string(task?.path().join("status")) else {
                continue;
            };
            for line in status.lines() {
                let field = |name: &str| {
                    line.strip_prefix(name)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                };
                if let Some(n) = field("voluntary_ctxt_switches:") {
                    total.voluntary += n;
                } else if let Some(n) = field("nonvoluntary_ctxt_switches:") {
                    total.involuntary += n;
                }
            }
        }
        Ok(total)
    }

    /// What happened since `earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }

    /// The larger of each count.
    pub fn max(self, other: Self) -> Self {
        Self {
            voluntary: self.voluntary.max(other.voluntary),
            involuntary: self.involuntary.max(other.involuntary),
        }
    }

    /// Per GiB of `bytes` moved: (voluntary, involuntary).
    pub fn per_gib(self, bytes: u64) -> (f64, f64) {
        let gib = bytes as f64 / f64::from(1u32 << 30);
        if gib == 0.0 {
            return (0.0, 0.0);
        }
        (self.voluntary as f64 / gib, self.involuntary as f64 / gib)
    }
}

#[cfg(test)]
mod tests {
    use super::Switches;

    #[test]
    fn a_sleeping_thread_switches_voluntarily() {
        let before = Switches::of(None).unwrap();
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let d = Switches::of(None).unwrap().since(before);
        assert!(d.voluntary >= 20, "{d:?}");
        let (v, _) = d.per_gib(1 << 30);
        assert_eq!(v, d.voluntary as f64);
    }
}
