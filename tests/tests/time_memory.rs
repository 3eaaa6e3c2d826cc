//! Timer memory, measured with a counting global allocator (bytes currently
//! allocated by the whole process), not RSS:
//!
//! - registering 100,000 sleeps allocates nothing per timer (the wheel
//!   links the entries that live inside the `Sleep`s);
//! - dropping 100,000 registered, unfired sleeps unlinks them all and the
//!   memory returns to where it was before they were created.
//!
//! The tests of this binary run one at a time (`serial`), since the
//! counter is process-wide.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use runtime::time::{sleep, timeout, Sleep};
use runtime_tests::{block_on, serial, Flavor};

/// `System`, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments,
// so `System`'s guarantees carry over; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (caller's contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (caller's contract).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (caller's contract).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

const N: usize = 100_000;
/// Room for unrelated allocations of the runtime's threads meanwhile (a
/// few buffers); 100,000 timers of even 16 bytes each would be 1.6 MB.
const SLACK: isize = 256 * 1024;

fn registers_and_drops_100k_sleeps(flavor: Flavor) {
    let _serial = serial();
    let reactor = runtime_reactor::Reactor::get().unwrap();
    block_on(flavor, async {
        // Warm up: the first timer, the runtime's threads and buffers.
        sleep(Duration::from_millis(1)).await;
        let timers_before = reactor.timer_count();
        let before = allocated();

        let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..N)
            .map(|i| {
                Box::pin(sleep(
                    Duration::from_secs(3600) + Duration::from_millis(i as u64),
                ))
            })
            .collect();
        let created = allocated();
        assert!(created - before >= (N * std::mem::size_of::<Sleep>()) as isize);

        // Register every one (first poll).
        std::future::poll_fn(|cx| {
            for s in &mut sleeps {
                assert!(s.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        assert_eq!(reactor.timer_count(), timers_before + N);
        let registered = allocated();
        assert!(
            registered - created < SLACK,
            "registering {N} timers allocated {} bytes",
            registered - created
        );

        drop(sleeps);
        assert_eq!(
            reactor.timer_count(),
            timers_before,
            "unfired timers left linked"
        );
        let dropped = allocated();
        assert!(
            dropped - before < SLACK,
            "{} bytes still allocated after dropping {N} sleeps",
            dropped - before
        );
    });
}

#[test]
fn registers_and_drops_100k_sleeps_current_thread() {
    registers_and_drops_100k_sleeps(Flavor::CurrentThread);
}

#[test]
fn registers_and_drops_100k_sleeps_multi_thread() {
    registers_and_drops_100k_sleeps(Flavor::MultiThread);
}

/// 100,000 timeouts around futures that finish first (the common case in
/// servers): every timer is removed, memory comes back.
#[test]
fn timeouts_that_never_fire_leave_nothing_behind() {
    let _serial = serial();
    let reactor = runtime_reactor::Reactor::get().unwrap();
    block_on(Flavor::MultiThread, async {
        sleep(Duration::from_millis(1)).await;
        let timers_before = reactor.timer_count();
        let before = allocated();
        for _ in 0..N {
            // Pending once (so the timer is registered), then ready.
            let v = timeout(Duration::from_secs(3600), async {
                runtime::task::yield_now().await;
                5
            })
            .await;
            assert_eq!(v, Ok(5));
        }
        assert_eq!(reactor.timer_count(), timers_before);
        let after = allocated();
        assert!(after - before < SLACK, "{} bytes left", after - before);
    });
}
