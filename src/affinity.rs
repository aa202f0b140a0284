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

/// [`batch_scheduling`] for the SQLite writer: a refusal (a seccomp filter
/// without `sched_setscheduler`, as systemd's `~@resources` makes) leaves
/// the default policy, which is correct but commits smaller groups, and is
/// logged once as a warning that names the call to allow. Returns whether
/// the thread is now batch-scheduled.
pub fn batch_scheduling_or_warn() -> bool {
    match batch_scheduling() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                error = %e,
                "the SQLite writer keeps the default scheduling policy: SCHED_BATCH was refused (allow the sched_setscheduler system call)"
            );
            false
        }
    }
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

    /// Refuses `sched_setscheduler` with EPERM on the calling thread only
    /// (a seccomp filter installed without TSYNC binds just this thread), as
    /// systemd's `SystemCallFilter=~@resources` with
    /// `SystemCallErrorNumber=EPERM` would.
    fn refuse_sched_setscheduler_on_this_thread() {
        let nr = libc::SYS_sched_setscheduler as u32;
        let filter = [
            // A = seccomp_data.nr
            libc::sock_filter {
                code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
                jt: 0,
                jf: 0,
                k: 0,
            },
            libc::sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                jt: 0,
                jf: 1,
                k: nr,
            },
            libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            },
            libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ALLOW,
            },
        ];
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at `filter`, both alive for the calls; the
        // kernel copies the program.
        unsafe {
            assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
            assert_eq!(
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &prog as *const libc::sock_fprog
                ),
                0,
                "{}",
                io::Error::last_os_error()
            );
        }
    }

    /// A log sink for one thread's `tracing` events.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_refused_sched_batch_leaves_the_default_policy_and_is_logged() {
        let log = Captured::default();
        let sink = log.clone();
        let (batched, policy) = std::thread::spawn(move || {
            refuse_sched_setscheduler_on_this_thread();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish();
            let batched = tracing::subscriber::with_default(subscriber, batch_scheduling_or_warn);
            (batched, thread_policy(0).unwrap())
        })
        .join()
        .unwrap();
        assert!(!batched);
        assert_eq!(policy, libc::SCHED_OTHER);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("WARN"), "{text}");
        assert!(text.contains("SCHED_BATCH was refused"), "{text}");
        assert!(text.contains("sched_setscheduler"), "{text}");
    }

    #[test]
    fn an_allowed_sched_batch_is_not_logged() {
        let log = Captured::default();
        let sink = log.clone();
        let batched = std::thread::spawn(move || {
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish();
            tracing::subscriber::with_default(subscriber, batch_scheduling_or_warn)
        })
        .join()
        .unwrap();
        assert!(batched);
        assert!(log.0.lock().unwrap().is_empty());
    }

    /// Applies systemd's rules for the `SystemCallFilter=` lines of a unit
    /// to one system call: the first line sets the default (an allow-list
    /// denies what it does not name), each later line adds to or, with `~`,
    /// takes from the allowed set, in order. `groups` are the named sets that
    /// hold the call; every other set in the unit must be in `others`, so that
    /// a new set is classified here before the test believes it.
    fn unit_allows(unit: &str, call: &str, groups: &[&str], others: &[&str]) -> bool {
        let mut allowed = None;
        for line in unit.lines() {
            let Some(value) = line.trim().strip_prefix("SystemCallFilter=") else {
                continue;
            };
            let (deny, names) = match value.strip_prefix('~') {
                Some(rest) => (true, rest),
                None => (false, value),
            };
            let first = allowed.is_none();
            let mut names_it = false;
            for name in names.split_whitespace() {
                if name.starts_with('@') {
                    assert!(
                        groups.contains(&name) || others.contains(&name),
                        "{name}: is {call} in it? (systemd-analyze syscall-filter {name})"
                    );
                }
                names_it |= name == call || groups.contains(&name);
            }
            allowed = Some(match (first, deny) {
                (true, false) => names_it,
                (true, true) => !names_it,
                (false, false) => allowed.unwrap_or(false) || names_it,
                (false, true) => allowed.unwrap_or(false) && !names_it,
            });
        }
        allowed.unwrap_or(true)
    }

    /// The shipped unit lets the writer set SCHED_BATCH. Group contents as
    /// `systemd-analyze syscall-filter` lists them (systemd 252–257):
    /// `@system-service` holds `@resources`, which holds `sched_setscheduler`;
    /// `@privileged` does not.
    #[test]
    fn the_shipped_systemd_unit_allows_sched_batch() {
        let unit = include_str!("../deploy/liancun.service");
        let holds = ["@system-service", "@resources"];
        let others = ["@privileged"];
        assert!(unit_allows(unit, "sched_setscheduler", &holds, &others));
        // The reader is not vacuous: the unit as it was refused the call.
        let before = "SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\n";
        assert!(!unit_allows(before, "sched_setscheduler", &holds, &others));
        // Real-time policies stay refused.
        assert!(unit.lines().any(|l| l.trim() == "RestrictRealtime=yes"));
    }

    /// The container deploys run under the container runtime's default
    /// seccomp profile, which allows `sched_setscheduler` without any
    /// capability (Docker's `profiles/seccomp/default.json` and containerd's
    /// `contrib/seccomp/seccomp_default.go` list it unconditionally), not a
    /// custom one that could drop it: the k8s deployment asks for
    /// `RuntimeDefault`, compose leaves Docker's default in place. Both run
    /// on PostgreSQL as shipped, where there is no SQLite writer; a single
    /// container on SQLite (`docker run` of the image) gets the same default.
    #[test]
    fn the_container_deploys_keep_the_runtime_default_seccomp_profile() {
        let deployment = include_str!("../deploy/k8s/deployment.yaml");
        let profiles: Vec<&str> = deployment
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("type:"))
            .collect();
        assert!(profiles.contains(&"type: RuntimeDefault"), "{profiles:?}");
        assert!(!deployment.contains("Localhost"));
        assert!(!deployment.contains("Unconfined"));
        for (file, text) in [
            (
                "deploy/docker-compose.yml",
                include_str!("../deploy/docker-compose.yml"),
            ),
            ("deploy/k8s/deployment.yaml", deployment),
        ] {
            assert!(
                !text.to_lowercase().contains("seccomp=") && !text.contains("seccomp:"),
                "{file} sets its own seccomp profile: check that it allows sched_setscheduler"
            );
        }
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
