//! CPU affinity and scheduling policy for the few threads whose placement
//! matters: the benchmark keeps its load generator off the server's core with
//! it, so that the two do not steal each other's time, and the SQLite writer
//! asks not to preempt the threads that feed it (see [`batch_scheduling`]).
//! Linux only; elsewhere every call is a no-op that says so.

use std::io;

/// The CPUs this thread may run on, in ascending order.
#[cfg(target_os = "linux")]
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: `set` is a plain bitmask owned by this frame; the kernel writes
    // at most `size_of::<cpu_set_t>()` bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect())
    }
}

/// Pins thread `tid` (0: the calling thread) to exactly `cpus`.
#[cfg(target_os = "linux")]
pub fn pin_thread(tid: i32, cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no CPU given"));
    }
    // SAFETY: as above; CPU_SET only writes inside `set` for c < CPU_SETSIZE,
    // which is checked first.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            if c >= libc::CPU_SETSIZE as usize {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("CPU {c} is out of range"),
                ));
            }
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Puts the calling thread under `SCHED_BATCH`: the same share of the CPU as
/// any other thread, but its wake-ups never preempt the thread running on
/// the core; it runs when that thread blocks or its slice ends.
///
/// For the SQLite writer, which commits whatever turns are waiting as one
/// group: woken by the first turn of a burst, it would otherwise preempt the
/// HTTP thread and commit that one turn alone, on a core the two share. Left
/// to wait, it finds the whole burst queued and commits it together. On an
/// idle core it is woken at once, as before.
#[cfg(target_os = "linux")]
pub fn batch_scheduling() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for the call's duration; pid 0
    // is the calling thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The scheduling policy of thread `tid` of this process (`SCHED_OTHER`,
/// `SCHED_BATCH`, … as `libc` numbers them).
#[cfg(target_os = "linux")]
pub fn thread_policy(tid: i32) -> io::Result<i32> {
    // SAFETY: a plain syscall on a thread id; failure is reported by -1.
    let policy = unsafe { libc::sched_getscheduler(tid) };
    if policy < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(policy)
}

#[cfg(not(target_os = "linux"))]
pub fn batch_scheduling() -> io::Result<()> {
    allowed_cpus().map(|_| ())
}

#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "CPU affinity is only set on Linux",
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn pin_thread(_tid: i32, _cpus: &[usize]) -> io::Result<()> {
    allowed_cpus().map(|_| ())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_batch_thread_reports_sched_batch_and_others_keep_theirs() {
        std::thread::spawn(|| {
            assert_eq!(thread_policy(0).unwrap(), libc::SCHED_OTHER);
            batch_scheduling().unwrap();
            assert_eq!(thread_policy(0).unwrap(), libc::SCHED_BATCH);
        })
        .join()
        .unwrap();
        assert_eq!(thread_policy(0).unwrap(), libc::SCHED_OTHER);
    }

    #[test]
    fn a_thread_pinned_to_one_allowed_cpu_reports_just_that_cpu() {
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        let last = *cpus.last().unwrap();
        std::thread::spawn(move || {
            pin_thread(0, &[last]).unwrap();
            assert_eq!(allowed_cpus().unwrap(), vec![last]);
            // A thread started now inherits the mask.
            std::thread::spawn(move || assert_eq!(allowed_cpus().unwrap(), vec![last]))
                .join()
                .unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn pinning_to_no_cpu_or_a_cpu_out_of_range_is_refused() {
        assert!(pin_thread(0, &[]).is_err());
        assert!(pin_thread(0, &[libc::CPU_SETSIZE as usize]).is_err());
    }
}
