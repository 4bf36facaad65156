//! The floor under the CPU cost of a delivered event: what the kernel alone charges to write one event's
//! bytes (a chunk of `data: <payload>\n\n`, as the servers frame it) into an established loopback TCP
//! connection — one blocking `write` per connection per broadcast, nothing else, timed on this thread.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// CPU time of the calling thread, to the nanosecond (after a yield, which brings the kernel's total for
/// the running thread up to date).
fn thread_cpu() -> io::Result<Duration> {
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos = text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok(Duration::from_nanos(nanos))
}

/// Writes at least this many chunks in all, so that the total is long enough to time well.
const ENOUGH_WRITES: usize = 20_000;

/// Opens `connections` loopback connections and writes event-sized chunks to each, round by round as a
/// broadcast would (`writes` rounds, more if that makes fewer than `ENOUGH_WRITES` writes); returns the
/// calling thread's CPU time per write.
pub fn kernel_write_cost(connections: usize, writes: usize) -> io::Result<Duration> {
    let connections = connections.max(1);
    let writes = writes.max(ENOUGH_WRITES.div_ceil(connections));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut pairs = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = TcpStream::connect(addr)?;
        let (server_side, _) = listener.accept()?;
        server_side.set_nodelay(true)?;
        pairs.push((server_side, client));
    }
    let payload = format!("data: 19 {}\n\n", 1_764_000_000_000_000_000u64);
    let frame = format!("{:x}\r\n{payload}\r\n", payload.len());
    let before = thread_cpu()?;
    for _ in 0..writes {
        for (server_side, _) in &mut pairs {
            server_side.write_all(frame.as_bytes())?;
        }
    }
    let spent = thread_cpu()?.saturating_sub(before);
    Ok(spent / u32::try_from(connections * writes).unwrap_or(u32::MAX))
}
