//! Name resolution that never blocks the calling thread: [`lookup_host`]
//! and the [`ToSocketAddrs`] trait that every `bind`, `connect` and
//! `send_to` of this crate takes.
//!
//! An address that is already an address (a `SocketAddr`, an `(IpAddr, u16)`
//! pair, a slice of them, or a string that parses as one such as
//! `"127.0.0.1:80"` or `"[::1]:80"`) is resolved at once, on the calling
//! thread, with no system call. A host name (`"localhost:80"`,
//! `("example.com", 443)`) needs `getaddrinfo(3)`, which blocks for as long
//! as DNS takes: it runs elsewhere, and the calling task waits for the answer
//! like for any other I/O. Malformed input (no port, a bad port) is an
//! `InvalidInput` error at once, as in `std`.
//!
//! # Where a lookup runs
//!
//! On the blocking pool of the current `runtime` runtime. This crate knows
//! no scheduler (the layering is `runtime -> net -> reactor`), so it cannot
//! call the pool itself; instead the `runtime` crate installs a hook when it
//! builds its first runtime ([`set_blocking_spawner`]): a plain function
//! that hands a job to the current runtime's pool, or gives it back when
//! the calling thread is in none. A job given back (or any lookup in a
//! process without `runtime`, such as under another executor) runs on a
//! thread of its own, started for that one lookup and gone after it. That
//! keeps the rule "a lookup never blocks a worker" without moving the pool
//! down a layer, where it would drag task and scheduler types with it.
//!
//! The answer comes back through a one-shot slot: the job fills it and wakes
//! the waiting task. A job dropped without running (its runtime shut down
//! first) closes the slot, and the lookup fails with an error instead of
//! waiting forever.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use parking_lot::{Mutex, MutexGuard, RwLock};

/// Resolves `host` to the socket addresses it names.
///
/// A literal address is returned at once; a host name is resolved with
/// `getaddrinfo(3)` off the calling thread (on the current `runtime`
/// runtime's blocking pool, else on a thread started for that lookup), so
/// a worker keeps running its other tasks meanwhile.
///
/// # Errors
///
/// `InvalidInput` for a string that is neither an address nor `host:port`,
/// or a bad port; the resolver's error for a name it cannot resolve; an
/// error if the lookup job could not be started or was dropped unrun (its
/// runtime shut down).
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// let addrs: Vec<_> = runtime::net::lookup_host("localhost:8080").await?.collect();
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// let literal: Vec<_> = runtime::net::lookup_host("127.0.0.1:80").await?.collect();
/// assert_eq!(literal, ["127.0.0.1:80".parse().unwrap()]);
/// # Ok::<_, std::io::Error>(()) }).unwrap();
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    resolve(&host).await
}

/// Resolves `addr` (see [`lookup_host`]); the returned future owns what it
/// needs and does not borrow `addr`.
pub(crate) fn resolve<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> impl Future<Output = io::Result<std::vec::IntoIter<SocketAddr>>> + Send + 'static {
    let resolved = addr.to_socket_addrs(sealed::Internal);
    async move {
        match resolved {
            Resolved::Done(addrs) => addrs,
            Resolved::Name(host, port) => lookup_off_thread(host, port).await,
        }
    }
}

/// Something that names one or more socket addresses: what `bind`,
/// `connect` and `send_to` take (tokio's `ToSocketAddrs`).
///
/// Implemented for `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`, `(IpAddr,
/// u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `&[SocketAddr]` (resolved at
/// once), for `str`, `String`, `(&str, u16)` and `(String, u16)` (at once
/// if they spell an address, off the calling thread if they name a host),
/// and for references to all of these. Sealed: the set is this crate's.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// What an address resolves to without a lookup.
#[derive(Debug)]
#[doc(hidden)]
pub enum Resolved {
    /// The addresses, or the error (malformed input).
    Done(io::Result<std::vec::IntoIter<SocketAddr>>),
    /// A host name and port: needs `getaddrinfo`.
    Name(String, u16),
}

pub(crate) mod sealed {
    /// The sealed part of [`ToSocketAddrs`](super::ToSocketAddrs).
    #[doc(hidden)]
    pub trait ToSocketAddrsPriv {
        /// The addresses, or the name to look up.
        fn to_socket_addrs(&self, internal: Internal) -> super::Resolved;
    }

    /// Keeps [`ToSocketAddrsPriv::to_socket_addrs`] uncallable outside the
    /// crate.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct Internal;
}

use sealed::{Internal, ToSocketAddrsPriv};

fn done<I: IntoIterator<Item = SocketAddr>>(addrs: I) -> Resolved {
    Resolved::Done(Ok(addrs.into_iter().collect::<Vec<_>>().into_iter()))
}

macro_rules! literal_impls {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsPriv for $t {
            fn to_socket_addrs(&self, _: Internal) -> Resolved {
                let $s = self;
                done([$e])
            }
        }
    )*};
}

literal_impls! {
    SocketAddr => |s| *s;
    SocketAddrV4 => |s| SocketAddr::V4(*s);
    SocketAddrV6 => |s| SocketAddr::V6(*s);
    (IpAddr, u16) => |s| SocketAddr::new(s.0, s.1);
    (Ipv4Addr, u16) => |s| SocketAddr::new(IpAddr::V4(s.0), s.1);
    (Ipv6Addr, u16) => |s| SocketAddr::new(IpAddr::V6(s.0), s.1);
}

impl ToSocketAddrs for &[SocketAddr] {}
impl ToSocketAddrsPriv for &[SocketAddr] {
    fn to_socket_addrs(&self, _: Internal) -> Resolved {
        done(self.iter().copied())
    }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_socket_addrs(&self, _: Internal) -> Resolved {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return done([addr]);
        }
        // The checks `std` makes before it calls the resolver.
        let Some((host, port)) = self.rsplit_once(':') else {
            return Resolved::Done(Err(invalid_input("invalid socket address")));
        };
        let Ok(port) = port.parse::<u16>() else {
            return Resolved::Done(Err(invalid_input("invalid port value")));
        };
        Resolved::Name(host.to_owned(), port)
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_socket_addrs(&self, internal: Internal) -> Resolved {
        self.as_str().to_socket_addrs(internal)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_socket_addrs(&self, _: Internal) -> Resolved {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => done([SocketAddr::new(ip, port)]),
            Err(_) => Resolved::Name(host.to_owned(), port),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_socket_addrs(&self, internal: Internal) -> Resolved {
        (self.0.as_str(), self.1).to_socket_addrs(internal)
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrsPriv for &T {
    fn to_socket_addrs(&self, internal: Internal) -> Resolved {
        (**self).to_socket_addrs(internal)
    }
}

fn invalid_input(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A job for a blocking thread.
#[doc(hidden)]
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

/// Hands `job` to a thread pool where it may block, or gives it back if the
/// calling thread is in no runtime.
#[doc(hidden)]
pub type BlockingSpawner = fn(BlockingJob) -> Result<(), BlockingJob>;

/// The hook installed by the `runtime` crate (first install wins).
static SPAWNER: OnceLock<BlockingSpawner> = OnceLock::new();

/// Installs the function that runs lookups on a blocking pool. Called by
/// the `runtime` crate when it builds a runtime; not part of the API.
#[doc(hidden)]
pub fn set_blocking_spawner(spawner: BlockingSpawner) {
    let _ = SPAWNER.set(spawner);
}

/// A resolver that replaces `getaddrinfo` (for tests).
#[doc(hidden)]
pub type Resolver = fn(&str, u16) -> io::Result<Vec<SocketAddr>>;

/// The resolver that tests installed, if any.
static TEST_RESOLVER: RwLock<Option<Resolver>> = RwLock::new(None);

/// How many lookups went off the calling thread.
static OFF_THREAD_LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// Replaces `getaddrinfo` for host-name lookups with `resolver` (`None`:
/// back to `getaddrinfo`), process-wide. The lookups still run where real
/// ones do. For tests (a slow or failing resolver made to order); not part
/// of the API.
#[doc(hidden)]
pub fn set_resolver_for_tests(resolver: Option<Resolver>) {
    *TEST_RESOLVER.write() = resolver;
}

/// How many host-name lookups this process has sent off the calling thread
/// (for tests: a literal address must not count). Not part of the API.
#[doc(hidden)]
pub fn off_thread_lookups() -> usize {
    OFF_THREAD_LOOKUPS.load(Ordering::SeqCst)
}

/// The blocking part of a lookup.
fn lookup_blocking(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let test_resolver = *TEST_RESOLVER.read();
    match test_resolver {
        Some(resolve) => resolve(host, port),
        None => std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map(Iterator::collect),
    }
}

/// Runs the lookup of `host:port` on the blocking pool (or a thread of its
/// own) and waits for the answer.
async fn lookup_off_thread(host: String, port: u16) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    OFF_THREAD_LOOKUPS.fetch_add(1, Ordering::SeqCst);
    let slot = Arc::new(Slot::default());
    let reply = Reply(slot.clone());
    let job: BlockingJob = Box::new(move || reply.send(lookup_blocking(&host, port)));
    let job = match SPAWNER.get() {
        Some(spawn) => spawn(job).err(),
        None => Some(job),
    };
    if let Some(job) = job {
        std::thread::Builder::new()
            .name("runtime-net-lookup".into())
            .spawn(job)?;
    }
    Answer(slot).await.map(Vec::into_iter)
}

/// The one-shot slot a lookup's answer comes back through.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The answer, once the job sent it.
    answer: Option<io::Result<Vec<SocketAddr>>>,
    /// The job is gone: dropped after sending, or unrun.
    closed: bool,
    /// The waiting task.
    waker: Option<Waker>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock()
    }
}

/// The job's end of a [`Slot`]: sends the answer, or closes the slot when
/// dropped unsent.
struct Reply(Arc<Slot>);

impl Reply {
    fn send(self, answer: io::Result<Vec<SocketAddr>>) {
        self.0.lock().answer = Some(answer);
        // Dropping `self` closes the slot and wakes the task.
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        let waker = {
            let mut st = self.0.lock();
            st.closed = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The task's end of a [`Slot`].
struct Answer(Arc<Slot>);

impl Future for Answer {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.0.lock();
        if let Some(answer) = st.answer.take() {
            return Poll::Ready(answer);
        }
        if st.closed {
            return Poll::Ready(Err(io::Error::other(
                "name lookup dropped before it ran: its runtime shut down, or no thread could be \
                 started for it",
            )));
        }
        match &mut st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(addr: &(impl ToSocketAddrs + ?Sized)) -> Resolved {
        addr.to_socket_addrs(Internal)
    }

    fn addrs(r: Resolved) -> Vec<SocketAddr> {
        match r {
            Resolved::Done(Ok(a)) => a.collect(),
            other => panic!("not resolved at once: {other:?}"),
        }
    }

    #[test]
    fn literals_resolve_at_once() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(addrs(now(&a)), [a]);
        assert_eq!(addrs(now("127.0.0.1:80")), [a]);
        assert_eq!(addrs(now(&String::from("[::1]:443"))), [b]);
        assert_eq!(addrs(now(&("127.0.0.1", 80))), [a]);
        assert_eq!(addrs(now(&("::1".to_owned(), 443))), [b]);
        assert_eq!(addrs(now(&(Ipv4Addr::LOCALHOST, 80))), [a]);
        assert_eq!(addrs(now(&(IpAddr::V6(Ipv6Addr::LOCALHOST), 443))), [b]);
        assert_eq!(addrs(now(&&[a, b][..])), [a, b]);
    }

    #[test]
    fn names_need_a_lookup_and_malformed_input_fails_at_once() {
        assert!(matches!(now("localhost:80"), Resolved::Name(h, 80) if h == "localhost"));
        assert!(matches!(now(&("example.com", 1)), Resolved::Name(h, 1) if h == "example.com"));
        for bad in ["localhost", "localhost:port", "localhost:70000", ""] {
            match now(bad) {
                Resolved::Done(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_unrun_job_fails_the_lookup_instead_of_hanging() {
        let slot = Arc::new(Slot::default());
        drop(Reply(slot.clone()));
        let mut answer = Answer(slot);
        let res = Pin::new(&mut answer).poll(&mut Context::from_waker(Waker::noop()));
        assert!(matches!(res, Poll::Ready(Err(_))));
    }
}
