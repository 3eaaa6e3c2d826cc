//! Child processes seen from the parent: spawning this binary again in a
//! child mode, the line-based conversation over its standard input and
//! output, stopping it (close standard input, wait, kill after 5 s), and
//! the server children of the load cases, pinned to the server CPUs when
//! the settings say so. What a child does once started is in
//! [`crate::roles`].

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use runtime_benches::contender::{Contender, Service};
use runtime_benches::procfs;

use crate::settings::Settings;

/// A child process of this binary with line-based standard I/O.
pub(crate) struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProc {
    pub(crate) fn spawn(args: &[String]) -> io::Result<ChildProc> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(ChildProc {
            child,
            stdin,
            stdout,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin closed"))?;
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }

    /// The next line, which must start with `word`; the rest is returned.
    pub(crate) fn expect(&mut self, word: &str) -> io::Result<String> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(io::Error::other(format!(
                "child {} exited before saying {word:?}",
                self.pid()
            )));
        }
        let line = line.trim();
        match line.strip_prefix(word) {
            Some(rest) => Ok(rest.trim().to_owned()),
            None => Err(io::Error::other(format!(
                "child said {line:?}, expected {word:?}"
            ))),
        }
    }

    /// Closes standard input and waits (up to 5 s) for the child to exit,
    /// killing it otherwise.
    pub(crate) fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// A server child process.
pub(crate) struct Server {
    pub(crate) proc: ChildProc,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn start(
        c: Contender,
        workers: usize,
        service: Service,
        cpus: Option<&[usize]>,
    ) -> io::Result<Server> {
        let mut args: Vec<String> = vec![
            "--serve".into(),
            c.name().into(),
            "--workers".into(),
            workers.to_string(),
            "--addr".into(),
            "127.0.0.1:0".into(),
            "--case".into(),
            service.case().into(),
        ];
        if let Service::Proxy { upstream } = service {
            args.extend(["--upstream".into(), upstream.to_string()]);
        }
        if let Some(cpus) = cpus {
            args.extend(["--cpus".into(), procfs::format_cpus(cpus)]);
        }
        let mut proc = ChildProc::spawn(&args)?;
        let addr = proc
            .expect("listening")?
            .parse()
            .map_err(|e| io::Error::other(format!("bad address from server: {e}")))?;
        Ok(Server { proc, addr })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub(crate) fn rss(&self) -> Option<u64> {
        procfs::rss_of(self.pid())
    }
}

pub(crate) fn start_servers(
    s: &Settings,
    service: Service,
    workers: usize,
) -> io::Result<BTreeMap<Contender, Server>> {
    s.contenders
        .iter()
        .map(|&c| {
            Ok((
                c,
                Server::start(c, workers, service, s.server_cpus.as_deref())?,
            ))
        })
        .collect()
}
