//! Pinning a thread to a CPU, for benchmarks that put a client and a server on cores of
//! their own.

use std::io;
use std::mem;

/// Pins the calling thread to `cpu`; threads it starts afterwards inherit the pinning.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain old data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    if cpu >= 8 * mem::size_of::<libc::cpu_set_t>() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: `cpu` was checked to be within the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: a live cpu_set_t and its size; pid 0 is the calling thread.
    let r =
        unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &raw const set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_or_refuses() {
        std::thread::spawn(|| {
            super::pin_current_thread(0).unwrap();
            assert!(super::pin_current_thread(1 << 20).is_err());
        })
        .join()
        .unwrap();
    }
}
