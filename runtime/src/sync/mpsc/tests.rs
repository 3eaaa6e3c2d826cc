//! Loom models of the channel's lock protocol: no wake-up is lost between a
//! receiver finding nothing and a sender pushing, between a waiting sender
//! and a released permit, or between the last sender's drop and the
//! receiver's wait.

use loom::future::block_on;
use loom::thread;

use super::{channel, unbounded_channel};

/// Two senders race for one slot; the receiver gets both, then the end.
#[test]
fn loom_bounded_two_senders_one_slot() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u8>(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || block_on(tx.send(1)).unwrap());
        let b = thread::spawn(move || block_on(tx2.send(2)).unwrap());
        let mut sum = 0;
        while let Some(v) = block_on(rx.recv()) {
            sum += v;
        }
        assert_eq!(sum, 3);
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// A sender waiting for capacity and the receiver closing: the sender
/// fails or gets through, and the receiver sees the end either way.
#[test]
fn loom_close_vs_waiting_sender() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u8>(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || block_on(tx.send(1)).is_ok());
        rx.close();
        let mut got = 0;
        while block_on(rx.recv()).is_some() {
            got += 1;
        }
        let sent = t.join().unwrap();
        assert_eq!(got, 1 + usize::from(sent));
    });
}

/// The unbounded receiver's batch take against a sender and its drop.
#[test]
fn loom_unbounded_send_then_drop() {
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel::<u8>();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        assert_eq!(got, [1, 2]);
        t.join().unwrap();
    });
}

/// A wait for two permits collects them while a single-permit sender and
/// the receiver race it; every permit comes back in the end.
#[test]
fn loom_reserve_many_vs_single_sender() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u8>(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            let permits = block_on(tx.reserve_many(2)).unwrap();
            for permit in permits {
                permit.send(1);
            }
        });
        let b = thread::spawn(move || block_on(tx2.send(2)).unwrap());
        let mut sum = 0;
        while let Some(v) = block_on(rx.recv()) {
            sum += v;
        }
        assert_eq!(sum, 4);
        a.join().unwrap();
        b.join().unwrap();
    });
}
