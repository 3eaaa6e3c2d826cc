//! What a test runs beside it: a temporary directory removed on drop, and
//! a child process of the test binary for the cases whose failure would
//! take the whole process down.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed (with everything in
/// it, such as Unix socket files) when dropped, so tests leave nothing
/// behind.
#[derive(Debug)]
pub struct TempDir {
    path: std::path::PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/runtime-<tag>-<pid>-<n>`.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("runtime-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The environment variable that tells a re-executed test binary which case
/// [`run_in_child`] asked it to run.
pub const CHILD_CASE_ENV: &str = "RUNTIME_TESTS_CHILD_CASE";

/// Runs the test `test_name` of this test binary again in a child process,
/// with [`CHILD_CASE_ENV`] set to `case`, and asserts that the child exited
/// successfully and printed a line ending in `ok: {case}` on stdout.
///
/// For checks whose failure would take the whole process down (an abort, a
/// fatal runtime error): the parent survives it and reports it as a plain
/// test failure, with the child's output. In the child, the test reads
/// [`child_case`], runs that case, and prints the line.
///
/// # Panics
///
/// If the child cannot be started, or fails.
pub fn run_in_child(test_name: &str, case: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE_ENV, case)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The harness prints `test NAME ... ` before the test's own output.
    let said_ok = stdout.lines().any(|l| l.ends_with(&format!("ok: {case}")));
    assert!(
        out.status.success() && said_ok,
        "the child for `{case}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// In a child started by [`run_in_child`]: the case it should run.
pub fn child_case() -> Option<String> {
    std::env::var(CHILD_CASE_ENV).ok()
}
