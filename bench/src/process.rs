//! CPU time, resident memory and descriptor limits of a process, read from `/proc` (Linux), so each
//! server is measured from outside as a separate process, and the driver measures itself the same way.

use std::time::Duration;

/// Raises the soft limit on open descriptors as far as the hard limit allows; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// CPU time (user and system) a process has used so far, summed over its live threads, to the nanosecond
/// (`/proc/<pid>/task/*/schedstat`). Threads that already exited are not counted; the servers measured
/// here keep their worker threads for their whole life.
///
/// The kernel brings a thread's total up to date when the thread is switched out or at a scheduler tick,
/// so a running thread's total can lag by one tick. The servers are idle when they are read; for the
/// calling process, the calling thread first yields, which brings its own total up to date.
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    if pid == std::process::id() {
        std::thread::yield_now();
    }
    let mut nanos: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        nanos += text.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(Duration::from_nanos(nanos))
}

/// Resident memory of a process in bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no VmRSS line"))
}

/// The machine's CPU time so far, in clock ticks summed over every core (`cpu` line of `/proc/stat`):
/// `(busy, total)`, busy being all but idle and I/O wait. Between two readings, the change in busy over
/// the change in total is how busy the cores were — with any process, measured or not.
pub fn machine_ticks() -> std::io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no cpu line in /proc/stat"))?
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_grows_with_work() {
        let pid = std::process::id();
        let before = cpu_time(pid).unwrap();
        let started = std::time::Instant::now();
        let mut x: u64 = 1;
        while started.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(cpu_time(pid).unwrap() > before + Duration::from_millis(10));
    }

    #[test]
    fn machine_ticks_add_up() {
        let (busy, total) = machine_ticks().unwrap();
        assert!(busy <= total && total > 0);
    }

    #[test]
    fn own_rss_grows_with_touched_memory() {
        let pid = std::process::id();
        let before = rss_bytes(pid).unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        assert!(rss_bytes(pid).unwrap() >= before + (32 << 20));
    }
}
