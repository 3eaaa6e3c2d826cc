//! `runtime::process` with real child processes (`sh`, `cat`, `sleep`):
//! exit codes, captured output, 4 MiB through a child's pipes both ways at
//! once, `wait` dropped and resumed, `kill`, `kill_on_drop`, fifty children
//! waited for at once, a pipe handed from one child to another, and the
//! error for a program that does not exist, on both schedulers.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use runtime::io::{AsyncReadExt, AsyncWriteExt};
use runtime::process::Command;
use runtime_tests::{assert_bytes_eq, block_on, flavor_tests, pattern, Flavor};

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

fn status_and_output_report_what_the_child_did(flavor: Flavor) {
    block_on(flavor, async {
        let status = sh("exit 3").status().await.unwrap();
        assert_eq!(status.code(), Some(3));
        let out = sh("echo out; echo err >&2; exit 5").output().await.unwrap();
        assert_eq!(out.status.code(), Some(5));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        let out = Command::new("sh")
            .args(["-c", "printf '%s' \"$GREETING\" \"$PWD\""])
            .env_clear()
            .env("GREETING", "hi ")
            .current_dir("/")
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"hi /");
    });
}

/// 4 MiB into `cat` and back out while it is written: far more than a
/// pipe holds, so the write stalls until the read drains, and both must
/// make progress together.
fn four_mib_through_a_child_both_ways_at_once_is_byte_exact(flavor: Flavor) {
    block_on(flavor, async {
        let data = pattern(4 * 1024 * 1024 + 7, 9);
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let sent = data.clone();
        let writer = runtime::spawn(async move {
            stdin.write_all(&sent).await.unwrap();
            // Dropped: cat reads end of file and exits.
        });
        let mut back = Vec::new();
        stdout.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_bytes_eq(&back, &data, "cat's output");
        assert!(child.wait().await.unwrap().success());
    });
}

/// A `wait` dropped before the child exits (a timeout) loses nothing: the
/// next `wait` gives the status, and so does every later one.
fn wait_is_cancel_safe_and_repeatable(flavor: Flavor) {
    block_on(flavor, async {
        let mut child = sh("sleep 0.3; exit 7").spawn().unwrap();
        let pid = child.id().unwrap();
        let early = runtime::time::timeout(Duration::from_millis(50), child.wait()).await;
        assert!(early.is_err(), "the child ended early: {early:?}");
        assert_eq!(child.try_wait().unwrap(), None);
        assert_eq!(child.id(), Some(pid));
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
        assert_eq!(child.try_wait().unwrap().unwrap().code(), Some(7));
        assert_eq!(child.id(), None, "a reaped child has no id");
    });
}

fn kill_ends_the_child_with_sigkill(flavor: Flavor) {
    block_on(flavor, async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        child.kill().await.unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(started.elapsed() < Duration::from_secs(20));
        let err = child.start_kill().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

/// With `kill_on_drop`, dropping the `Child` kills the process (it is
/// gone or a zombie soon after); without it, the process runs on.
fn kill_on_drop_kills_and_plain_drop_does_not(flavor: Flavor) {
    fn running(pid: u32) -> bool {
        // Gone, or a zombie ("Z" after the name in /proc/PID/stat).
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }
    block_on(flavor, async {
        let killed = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let kept = Command::new("sleep").arg("30").spawn().unwrap();
        let (killed_pid, kept_pid) = (killed.id().unwrap(), kept.id().unwrap());
        drop(killed);
        drop(kept);
        let deadline = Instant::now() + Duration::from_secs(10);
        while running(killed_pid) {
            assert!(
                Instant::now() < deadline,
                "kill_on_drop left the child running"
            );
            runtime::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(running(kept_pid), "a plain drop killed the child");
        // SAFETY: `kill` with a pid this test started and a signal number.
        unsafe { libc::kill(kept_pid as libc::pid_t, libc::SIGKILL) };
    });
}

/// A child dropped before it exits, inside a runtime, is reaped when it
/// exits: no zombie stays, with no other spawn or drop to collect it.
fn a_child_dropped_running_is_reaped_when_it_exits(flavor: Flavor) {
    block_on(flavor, async {
        let child = sh("sleep 0.2").spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(
                Instant::now() < deadline,
                "the dropped child was not reaped (zombie or running)"
            );
            runtime::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// Fifty children waited for at once each get their own status.
fn fifty_children_waited_for_at_once_each_get_their_own_status(flavor: Flavor) {
    block_on(flavor, async {
        let mut waits = Vec::new();
        for i in 0..50 {
            let mut child = sh(&format!("sleep 0.0{}; exit {i}", i % 10))
                .spawn()
                .unwrap();
            waits.push(runtime::spawn(
                async move { (i, child.wait().await.unwrap()) },
            ));
        }
        for wait in waits {
            let (i, status) = wait.await.unwrap();
            assert_eq!(status.code(), Some(i));
        }
    });
}

/// A child's stdout handed to another child as its stdin: `printf | tr`.
fn a_pipe_hands_one_childs_output_to_another(flavor: Flavor) {
    block_on(flavor, async {
        let mut first = sh("printf 'abc'").stdout(Stdio::piped()).spawn().unwrap();
        let out: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let second = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(out)
            .output()
            .await
            .unwrap();
        assert_eq!(second.stdout, b"ABC");
        assert!(first.wait().await.unwrap().success());
    });
}

fn a_missing_program_is_not_found(flavor: Flavor) {
    block_on(flavor, async {
        let err = Command::new("/nonexistent/program").spawn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        let err = Command::new("/nonexistent/program")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

flavor_tests!(
    status_and_output_report_what_the_child_did,
    four_mib_through_a_child_both_ways_at_once_is_byte_exact,
    wait_is_cancel_safe_and_repeatable,
    kill_ends_the_child_with_sigkill,
    kill_on_drop_kills_and_plain_drop_does_not,
    a_child_dropped_running_is_reaped_when_it_exits,
    fifty_children_waited_for_at_once_each_get_their_own_status,
    a_pipe_hands_one_childs_output_to_another,
    a_missing_program_is_not_found,
);
