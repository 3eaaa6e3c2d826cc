//! Small waker-slot helpers that every primitive in `sync` stores its
//! waiters with: one slot, a slot in a slab addressed by the waiting
//! future's key, and a deduplicated list.

use std::task::{Context, Waker};

use slab::Slab;

/// Stores `cx`'s waker in `slot` unless an equivalent one is there.
pub(crate) fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Stores `cx`'s waker in the slab slot `key` names, taking a slot (and
/// writing its key back) on a future's first wait.
pub(crate) fn set_keyed_waker(
    slots: &mut Slab<Option<Waker>>,
    key: &mut Option<usize>,
    cx: &Context<'_>,
) {
    match *key {
        Some(k) => set_waker(&mut slots[k], cx),
        None => *key = Some(slots.insert(Some(cx.waker().clone()))),
    }
}

/// Adds `cx`'s waker to `list` unless an equivalent one is in it (a wait
/// polled again does not grow the list).
pub(crate) fn add_waker_once(list: &mut Vec<Waker>, cx: &Context<'_>) {
    if !list.iter().any(|w| w.will_wake(cx.waker())) {
        list.push(cx.waker().clone());
    }
}
