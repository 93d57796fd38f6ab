//! Where log lines go on their way to stderr: a buffer that reaches stderr in one
//! write, instead of one `write(2)` per line on the thread serving the request.
//!
//! At the default level every request writes an access line, and written line by line
//! that cost about a fifth of the token rate (figures in the commit). nginx's
//! `access_log … buffer= flush=` is the same idea. The buffer is written out:
//!
//! - at once for a warning or an error (and everything before it, in order);
//! - when [`FLUSH_AT`] bytes have gathered;
//! - every [`FLUSH_EVERY`], by a task [`spawn_flusher`] starts;
//! - when the [`LogGuard`] is dropped, as `main` returns.
//!
//! A process killed with `SIGKILL` loses at most the last [`FLUSH_EVERY`] of info
//! lines. No thread of its own: a writer thread (`tracing-appender`) did as well on
//! speed, but a thread that allocates gets its own allocator pages, and with
//! transparent huge pages that added 6 MB to the idle RSS.

use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Bytes gathered before they are written without waiting for the timer (about 150
/// access lines).
const FLUSH_AT: usize = 32 * 1024;
/// The longest an info line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Lines not yet written. The lock is held while writing, so lines reach stderr in
/// the order they were logged.
struct LogBuffer {
    lines: Mutex<Vec<u8>>,
}

impl LogBuffer {
    const fn new() -> Self {
        Self {
            lines: Mutex::new(Vec::new()),
        }
    }

    /// `out` is called only when the buffer is to be written, so a line that waits
    /// does not take stderr's lock.
    fn append<W: Write>(
        &self,
        line: &[u8],
        urgent: bool,
        out: impl FnOnce() -> W,
    ) -> io::Result<()> {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.extend_from_slice(line);
        if urgent || lines.len() >= FLUSH_AT {
            write_out(&mut lines, &mut out())
        } else {
            Ok(())
        }
    }

    /// Like [`LogBuffer::append`], this takes the buffer's lock before stderr's: one
    /// order everywhere, so two threads cannot each hold the lock the other waits for.
    fn flush<W: Write>(&self, out: impl FnOnce() -> W) -> io::Result<()> {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        write_out(&mut lines, &mut out())
    }
}

/// Writes and empties `lines`. What could not be written is dropped with them: keeping
/// it would let a broken stderr grow the buffer without bound.
fn write_out(lines: &mut Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let written = out.write_all(lines);
    lines.clear();
    written
}

static STDERR_BUFFER: LogBuffer = LogBuffer::new();

/// The `MakeWriter` for the subscriber: every line goes through the buffer; a line
/// at `WARN` or above writes the buffer out with it.
pub struct BufferedStderr;

/// One log line on its way into the buffer.
pub struct LineWriter {
    urgent: bool,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        STDERR_BUFFER.append(buf, self.urgent, io::stderr)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter { urgent: true }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> LineWriter {
        LineWriter {
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

/// Writes out whatever is buffered.
pub fn flush() {
    let _ = STDERR_BUFFER.flush(io::stderr);
}

/// Writes the buffer out every [`FLUSH_EVERY`], when called within a Tokio runtime
/// (outside one, lines wait for the size threshold, a warning, or the guard).
pub fn spawn_flusher() {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async {
            let mut every = tokio::time::interval(FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                flush();
            }
        });
    }
}

/// Writes out what is still buffered when dropped: hold it until the process ends.
#[must_use = "lines still buffered when the guard is dropped are written then"]
pub struct LogGuard(());

impl LogGuard {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_until_a_warning_or_the_threshold_and_keep_their_order() {
        let buffer = LogBuffer::new();
        let mut out = Vec::new();
        buffer.append(b"info 1\n", false, || &mut out).unwrap();
        buffer.append(b"info 2\n", false, || &mut out).unwrap();
        assert!(out.is_empty(), "info lines wait");
        buffer.append(b"warn 3\n", true, || &mut out).unwrap();
        assert_eq!(out, b"info 1\ninfo 2\nwarn 3\n");

        out.clear();
        let line = [b'x'; 1000];
        for _ in 0..FLUSH_AT / line.len() {
            buffer.append(&line, false, || &mut out).unwrap();
        }
        assert!(out.is_empty());
        buffer.append(&line, false, || &mut out).unwrap();
        assert_eq!(out.len(), (FLUSH_AT / line.len() + 1) * line.len());

        out.clear();
        buffer.append(b"last\n", false, || &mut out).unwrap();
        buffer.flush(|| &mut out).unwrap();
        assert_eq!(out, b"last\n");
        buffer.flush(|| &mut out).unwrap();
        assert_eq!(out, b"last\n", "nothing written twice");
    }

    #[test]
    fn a_failed_write_drops_the_lines_instead_of_growing_the_buffer() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("closed"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = LogBuffer::new();
        assert!(buffer.append(b"lost\n", true, || Broken).is_err());
        let mut out = Vec::new();
        buffer.append(b"next\n", true, || &mut out).unwrap();
        assert_eq!(out, b"next\n");
    }
}
