//! CPU time, resident memory and descriptor limits of a process, read from `/proc` (Linux), so each
//! server is measured from outside as a separate process, and the driver measures itself the same way.

use std::time::Duration;

/// Raises the soft limit on open descriptors as far as the hard limit allows; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// Raises the descriptor limit ([`raise_fd_limit`]) and checks that it leaves room for `count` of
/// `what` (one descriptor each) and `spare` more; the error says to raise the hard limit or pass fewer
/// with `option`. Returns the limit.
pub fn descriptors_for(count: u64, spare: u64, what: &str, option: &str) -> std::io::Result<u64> {
    let descriptors = raise_fd_limit();
    if descriptors < count + spare {
        return Err(std::io::Error::other(format!(
            "{count} {what} need about {} open descriptors and the hard limit is {descriptors}: raise it \
             (`ulimit -Hn`, as root) or pass fewer `{option}`",
            count + spare
        )));
    }
    Ok(descriptors)
}

/// The value of the first line of `path` that starts with `prefix` (`/proc/cpuinfo`'s `model name`, say).
fn proc_field(path: &str, prefix: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines().find(|l| l.starts_with(prefix)).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The machine's load average over 1, 5 and 15 minutes.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The line a report opens with: cores, processor, kernel, memory, and the load average now.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let memory_mb =
        proc_field("/proc/meminfo", "MemTotal").trim_end_matches(" kB").parse::<u64>().map_or(0, |kb| kb / 1024);
    format!(
        "Machine: {cores} cores, {}, Linux {}, {memory_mb} MB memory; load average at the start: {}.",
        proc_field("/proc/cpuinfo", "model name"),
        kernel.trim(),
        load_average()
    )
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
