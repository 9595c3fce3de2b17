//! One piece of work at a time per key: the first caller does it, and
//! callers that arrive meanwhile wait for it to finish, then look again
//! (widgets on one page ask for the same model, or the backend, at once).

use std::{cell::RefCell, collections::HashMap, hash::Hash};

use futures_channel::oneshot;

pub struct InFlight<K>(RefCell<HashMap<K, Vec<oneshot::Sender<()>>>>);

impl<K: Eq + Hash> InFlight<K> {
    pub fn new() -> Self {
        InFlight(RefCell::new(HashMap::new()))
    }

    /// None: nobody is at it, so the caller leads and must call
    /// [`InFlight::finish`]. Some: resolves when the leader finishes.
    pub fn join(&self, key: K) -> Option<oneshot::Receiver<()>> {
        let mut map = self.0.borrow_mut();
        match map.get_mut(&key) {
            Some(waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                Some(rx)
            }
            None => {
                map.insert(key, Vec::new());
                None
            }
        }
    }

    /// Wakes everyone waiting on `key`.
    pub fn finish(&self, key: &K) {
        let waiters = self.0.borrow_mut().remove(key).unwrap_or_default();
        for tx in waiters {
            let _ = tx.send(());
        }
    }
}

impl<K: Eq + Hash> Default for InFlight<K> {
    fn default() -> Self {
        InFlight::new()
    }
}
