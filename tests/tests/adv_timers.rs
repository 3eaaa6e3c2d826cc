//! A socket that is always ready must not keep a timer from firing on the
//! same thread: each read spends the task's cooperative budget, and a spent
//! budget makes the reader yield, so the timer's task gets its turn.
//!
//! (Two tasks waking each other forever without starving a third is
//! `rt_scheduler::ping_pong_forever_does_not_starve_a_third_task`; a
//! `sleep(500 µs)` loop not spinning the reactor is
//! `time_cpu::sub_millisecond_sleeps_do_not_spin_the_reactor`.)

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::io::AsyncReadExt;
use runtime::net::TcpStream;
use runtime::time::sleep;
use runtime_tests::{flavor_tests, sleep_blocking, Flavor, Watchdog, HANG_LIMIT};

/// A runtime with exactly one thread running tasks.
fn one_thread(flavor: Flavor) -> runtime::Runtime {
    match flavor {
        Flavor::CurrentThread => runtime::Builder::new_current_thread().build().unwrap(),
        Flavor::MultiThread => runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
    }
}

/// A peer thread writes without pause, so the socket always has data
/// queued (megabytes, while the reader takes one byte per operation); a
/// reader task reads until it sees the timer's flag; a second task on the
/// same thread sleeps 10 ms and sets the flag. The timer fires while the
/// reader still finds data on every read.
///
/// Without a budget the reader's `poll` would never return, the timer task
/// would never run, and the reader's own fail-safe (half the hang limit)
/// would end it with the flag unset.
fn always_ready_socket_does_not_keep_a_timer_from_firing_on_the_same_thread(flavor: Flavor) {
    let _w = Watchdog::start(HANG_LIMIT);
    let rt = one_thread(flavor);
    let (reader_saw_timer, bytes_read, still_had_data) = rt.block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let writer = std::thread::spawn(move || {
            let chunk = vec![0xabu8; 64 * 1024];
            while !s.load(Ordering::SeqCst) {
                if peer.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        // Let the writer queue megabytes before the reader starts.
        sleep_blocking(Duration::from_millis(100)).await;

        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        let reader = runtime::spawn(async move {
            let mut client = client;
            let mut byte = [0u8; 1];
            let mut n = 0u64;
            let give_up = Instant::now() + HANG_LIMIT / 2;
            let mut saw_timer = false;
            while Instant::now() < give_up {
                if f.load(Ordering::SeqCst) {
                    saw_timer = true;
                    break;
                }
                client.read_exact(&mut byte).await.unwrap();
                n += 1;
            }
            (client, n, saw_timer)
        });
        let f = fired.clone();
        let timer = runtime::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            f.store(true, Ordering::SeqCst);
        });
        timer.await.unwrap();
        let (client, n, saw_timer) = reader.await.unwrap();
        // The reader stopped because of the timer, not for lack of data.
        let mut probe = [0u8; 1];
        let had_data = client.try_read(&mut probe).is_ok_and(|n| n == 1);
        stop.store(true, Ordering::SeqCst);
        drop(client);
        writer.join().unwrap();
        (saw_timer, n, had_data)
    });
    assert!(
        reader_saw_timer,
        "the 10 ms timer did not fire while a task read an always-ready socket \
         ({bytes_read} bytes read before giving up): no coop budget"
    );
    assert!(
        still_had_data,
        "the socket ran dry ({bytes_read} bytes read), so it was not always ready: the \
         test proved nothing"
    );
}

flavor_tests!(always_ready_socket_does_not_keep_a_timer_from_firing_on_the_same_thread);
