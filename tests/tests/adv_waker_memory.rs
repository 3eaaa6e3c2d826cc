//! A task's `Waker` cloned to a plain thread and used after the runtime was
//! dropped: waking is a no-op (no panic, nothing runs), and the task's
//! memory is freed when the last waker goes, not leaked and not freed
//! earlier.
//!
//! (`rt_scheduler::waker_woken_after_runtime_drop_is_a_noop` checks the
//! no-panic half; this file checks the memory.) The task's future carries a
//! padding array of a size nothing else in the process allocates, and a
//! counting global allocator tracks how many allocations of about that size
//! are live: one task cell while any reference to the task exists, none
//! after. This binary's allocator is its own, so the file is its own test
//! binary, and the tests hold [`serial`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Poll, Waker};

use runtime_tests::{flavor_tests, serial, yield_until, Flavor, Watchdog, HANG_LIMIT};

/// Bytes of padding in the probe task's future: its cell is an allocation
/// of `PAD` plus a header, a size nothing else here allocates.
const PAD: usize = 192 * 1024 + 123;

/// Allocations with a size in `PAD..PAD + SLACK` are the probe's task cells.
const SLACK: usize = 4096;

struct Counting;

static PROBE_CELLS: AtomicUsize = AtomicUsize::new(0);

fn is_probe(layout: Layout) -> bool {
    (PAD..PAD + SLACK).contains(&layout.size())
}

// SAFETY: every call is forwarded unchanged to `System`; the counter is a
// side effect with no bearing on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_probe(layout) {
            PROBE_CELLS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_probe(layout) {
            PROBE_CELLS.fetch_sub(1, Ordering::SeqCst);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn probe_cells() -> usize {
    PROBE_CELLS.load(Ordering::SeqCst)
}

/// Spawns the probe task (parked forever, its waker sent out) on a runtime
/// of `flavor`, drops the runtime, and returns the waker.
fn waker_of_a_parked_task_outliving_its_runtime(flavor: Flavor) -> Waker {
    let rt = flavor.build();
    let (tx, rx) = mpsc::channel::<Waker>();
    rt.spawn(async move {
        let pad = [7u8; PAD];
        poll_fn(|cx| {
            let _ = tx.send(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await;
        std::hint::black_box(&pad);
    });
    let waker = rt.block_on(async {
        let mut got = None;
        yield_until(|| {
            got = rx.try_recv().ok();
            got.is_some()
        })
        .await;
        got.unwrap()
    });
    assert_eq!(probe_cells(), 1, "the probe task's cell is not live");
    drop(rt);
    // The future is gone, but the waker keeps the cell (its header).
    assert_eq!(
        probe_cells(),
        1,
        "the task cell was freed while a waker still pointed to it"
    );
    waker
}

/// Runs `f` on a thread with a large stack: the probe future is moved by
/// value a few times before it reaches the heap.
fn with_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
}

/// `wake_by_ref`, then dropping the waker: the drop frees the cell.
fn waker_woken_by_ref_then_dropped_after_runtime_drop_frees_the_task(flavor: Flavor) {
    let _serial = serial();
    let _w = Watchdog::start(HANG_LIMIT);
    with_big_stack(move || {
        assert_eq!(probe_cells(), 0);
        let waker = waker_of_a_parked_task_outliving_its_runtime(flavor);
        std::thread::spawn(move || {
            waker.wake_by_ref();
            waker.wake_by_ref();
            drop(waker);
        })
        .join()
        .expect("waking after shutdown must not panic");
        assert_eq!(probe_cells(), 0, "the task's memory leaked");
    });
}

/// Clones, then `wake` by value as the last reference: the wake frees it.
fn last_waker_woken_by_value_after_runtime_drop_frees_the_task(flavor: Flavor) {
    let _serial = serial();
    let _w = Watchdog::start(HANG_LIMIT);
    with_big_stack(move || {
        assert_eq!(probe_cells(), 0);
        let waker = waker_of_a_parked_task_outliving_its_runtime(flavor);
        std::thread::spawn(move || {
            let clone = waker.clone();
            waker.wake();
            assert_eq!(probe_cells(), 1, "freed while a clone is alive");
            clone.wake();
        })
        .join()
        .expect("waking after shutdown must not panic");
        assert_eq!(probe_cells(), 0, "the task's memory leaked");
    });
}

flavor_tests!(
    waker_woken_by_ref_then_dropped_after_runtime_drop_frees_the_task,
    last_waker_woken_by_value_after_runtime_drop_frees_the_task,
);
