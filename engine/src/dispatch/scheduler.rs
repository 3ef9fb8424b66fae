//! The one task that owns every group timer: a binary heap of deadlines fed by a channel.
//!
//! A group is scheduled when it is created and re-armed by the scheduler itself when it
//! fires (`group_interval` later), so the channel carries one message per new group and
//! per finished flush, never one per alert. Stale heap entries (a group destroyed or
//! re-armed meanwhile) are recognised by comparing the entry's deadline with the group's.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Weak};

use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::dispatcher::Inner;
use super::group::Group;

/// Messages to the scheduler.
pub(crate) enum SchedulerMsg {
    /// Flush this group at this time (a new group).
    Schedule(Arc<Group>, Instant),
    /// A flush of this group ended.
    FlushDone(Arc<Group>),
    /// Stop scheduling.
    Stop,
}

struct Entry {
    at: Instant,
    seq: u64,
    group: Arc<Group>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Heap {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Heap {
    fn push(&mut self, group: Arc<Group>, at: Instant) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            group,
        }));
    }

    /// Drops stale entries at the top; returns the deadline of the first live one.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.group.lock().is_due_at(top.at) {
                return Some(top.at);
            }
            self.heap.pop();
        }
        None
    }
}

fn handle(msg: Option<SchedulerMsg>, heap: &mut Heap) -> bool {
    match msg {
        None | Some(SchedulerMsg::Stop) => false,
        Some(SchedulerMsg::Schedule(group, at)) => {
            heap.push(group, at);
            true
        }
        Some(SchedulerMsg::FlushDone(group)) => {
            let mut st = group.lock();
            st.flushing = false;
            if st.due_while_flushing && !st.destroyed {
                // The timer fired during the flush: flush again at once, like upstream's
                // timer whose tick waited in its channel.
                st.due_while_flushing = false;
                let now = Instant::now();
                st.next = Some(now);
                drop(st);
                heap.push(group, now);
            }
            true
        }
    }
}

/// Runs until the dispatcher is dropped or stopped.
pub(crate) async fn run_scheduler(
    inner: Weak<Inner>,
    mut rx: mpsc::UnboundedReceiver<SchedulerMsg>,
    max_flushes: usize,
) {
    let permits = Arc::new(Semaphore::new(max_flushes));
    let mut heap = Heap {
        heap: BinaryHeap::new(),
        seq: 0,
    };
    loop {
        let next = heap.next_deadline();
        let due = next.is_some_and(|at| at <= Instant::now());
        if due {
            tokio::select! {
                biased;
                msg = rx.recv() => {
                    if !handle(msg, &mut heap) {
                        return;
                    }
                }
                permit = permits.clone().acquire_owned() => {
                    let Ok(permit) = permit else { return };
                    let Some(Reverse(entry)) = heap.heap.pop() else { continue };
                    let Some(inner) = inner.upgrade() else { return };
                    fire(inner, entry, permit, &mut heap);
                }
            }
        } else {
            tokio::select! {
                msg = rx.recv() => {
                    if !handle(msg, &mut heap) {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {}
            }
        }
    }
}

fn fire(
    inner: Arc<Inner>,
    entry: Entry,
    permit: tokio::sync::OwnedSemaphorePermit,
    heap: &mut Heap,
) {
    let group = entry.group;
    let now = Instant::now();
    {
        let mut st = group.lock();
        if !st.is_due_at(entry.at) {
            return;
        }
        if st.flushing {
            st.due_while_flushing = true;
            st.next = None;
            return;
        }
        st.flushing = true;
        // Like upstream, the next flush is one group interval after this one started.
        let next = now + group.route.opts.group_interval;
        st.next = Some(next);
        drop(st);
        heap.push(group.clone(), next);
    }
    tokio::spawn(async move {
        let sched = inner.sched.clone();
        inner.flush(group.clone()).await;
        drop(permit);
        let _ = sched.send(SchedulerMsg::FlushDone(group));
    });
}
