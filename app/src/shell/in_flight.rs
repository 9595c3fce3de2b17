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

/// A value a page loads once (a model, a dataset): the first caller loads
/// it while later callers wait and then share it. A failure is not kept,
/// so the next call tries again; [`LoadOnce::forget`] drops the value
/// (after a lost GPU).
pub struct LoadOnce<T> {
    value: RefCell<Option<std::rc::Rc<T>>>,
    loading: InFlight<()>,
}

impl<T> LoadOnce<T> {
    pub fn new() -> Self {
        LoadOnce {
            value: RefCell::new(None),
            loading: InFlight::new(),
        }
    }

    pub fn forget(&self) {
        *self.value.borrow_mut() = None;
    }

    pub async fn get_or_load<E>(
        &self,
        load: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<std::rc::Rc<T>, E> {
        let mut load = Some(load);
        loop {
            if let Some(v) = self.value.borrow().clone() {
                return Ok(v);
            }
            match self.loading.join(()) {
                // Someone else is loading: wait, then look again.
                Some(rx) => {
                    let _ = rx.await;
                }
                None => {
                    let loaded = (load.take().expect("a caller leads one load"))().await;
                    let out = loaded.map(|v| {
                        let v = std::rc::Rc::new(v);
                        *self.value.borrow_mut() = Some(v.clone());
                        v
                    });
                    self.loading.finish(&());
                    return out;
                }
            }
        }
    }
}

impl<T> Default for LoadOnce<T> {
    fn default() -> Self {
        LoadOnce::new()
    }
}
