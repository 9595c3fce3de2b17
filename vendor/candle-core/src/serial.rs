//! glassbox: rayon's parallel iterators as plain iterators on wasm32, where
//! there is one thread, so that rayon's pool is not linked into the wasm.

pub trait IntoParallelIterator: IntoIterator + Sized {
    fn into_par_iter(self) -> Self::IntoIter {
        self.into_iter()
    }
}
impl<I: IntoIterator> IntoParallelIterator for I {}

pub trait ParallelSlice<T> {
    fn par_chunks_exact(&self, n: usize) -> std::slice::ChunksExact<'_, T>;
}
impl<T> ParallelSlice<T> for [T] {
    fn par_chunks_exact(&self, n: usize) -> std::slice::ChunksExact<'_, T> {
        self.chunks_exact(n)
    }
}

pub trait ParallelSliceMut<T> {
    fn par_chunks_exact_mut(&mut self, n: usize) -> std::slice::ChunksExactMut<'_, T>;
}
impl<T> ParallelSliceMut<T> for [T] {
    fn par_chunks_exact_mut(&mut self, n: usize) -> std::slice::ChunksExactMut<'_, T> {
        self.chunks_exact_mut(n)
    }
}
