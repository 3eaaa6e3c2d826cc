//! One fd has one registration: registering an fd that is registered
//! already fails with `EEXIST` (as `Reactor::register` and `AsyncFd::new`
//! promise, on epoll and on kqueue alike) and leaves the first
//! registration as it was. The case that safe code reaches: two clones of
//! one `Arc<UnixStream>` handed to `AsyncFd::new`. On kqueue an `EV_ADD`
//! for an fd that has knotes modifies them, so without the check the second
//! registration took over the first one's events (the first never heard of
//! readiness again) and dropping either deleted both.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use runtime::io::unix::AsyncFd;
use runtime::io::Interest;
use runtime::time::timeout;
use runtime_tests::{block_on, flavor_tests, registration_count, serial, Flavor};

/// A liveness bound, far above any healthy wake-up: past it, the wake-up
/// is taken as lost (instead of hanging the test).
const LOST: Duration = Duration::from_secs(10);

/// Waits until `fd` is readable and reads what is there.
async fn read_when_ready(fd: &AsyncFd<Arc<UnixStream>>, what: &str) -> Vec<u8> {
    let read = fd.async_io(Interest::READABLE, |s| {
        let mut buf = [0u8; 64];
        (&**s).read(&mut buf).map(|n| buf[..n].to_vec())
    });
    timeout(LOST, read)
        .await
        .unwrap_or_else(|_| panic!("{what}: the first registration never heard of readiness"))
        .unwrap()
}

fn a_second_registration_of_one_fd_is_refused(flavor: Flavor) {
    let _serial = serial(); // registration counts are process-wide
    block_on(flavor, async {
        let (a, mut peer) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = Arc::new(a);
        let before = registration_count();
        let first = AsyncFd::new(a.clone()).unwrap();
        assert_eq!(registration_count(), before + 1);

        let (back, err) = AsyncFd::try_new(a.clone()).unwrap_err().into_parts();
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST), "{err}");
        assert!(
            Arc::ptr_eq(&back, &a),
            "the value comes back with the error"
        );
        assert_eq!(
            registration_count(),
            before + 1,
            "the refused one left no slot"
        );
        drop(back);

        // The first registration still hears of readiness, before and
        // after the refused attempt is gone, and for more than one edge.
        peer.write_all(b"one").unwrap();
        assert_eq!(read_when_ready(&first, "first edge").await, b"one");
        let second = AsyncFd::new(a.clone());
        assert!(second.is_err(), "refused again");
        drop(second);
        peer.write_all(b"two").unwrap();
        assert_eq!(read_when_ready(&first, "second edge").await, b"two");

        // Once the first is dropped, the fd can be registered again.
        drop(first);
        assert_eq!(registration_count(), before);
        let again = AsyncFd::new(a.clone()).unwrap();
        peer.write_all(b"three").unwrap();
        assert_eq!(read_when_ready(&again, "re-registered").await, b"three");
        drop(again);
        assert_eq!(registration_count(), before);
    });
}

flavor_tests!(a_second_registration_of_one_fd_is_refused);
