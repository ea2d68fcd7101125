//! Forwarding buffers: 16 KiB per direction, taken from a per-thread pool only while data is in
//! flight and given back as soon as they drain, so idle connections hold none.

use crate::pipe::PipePool;

/// Per-thread pools: forwarding buffers, and pipes for splice(2).
#[derive(Default)]
pub struct Pools {
    pub buffers: BufferPool,
    pub pipes: PipePool,
}

/// Size of one direction's buffer.
pub const BUFFER_SIZE: usize = 16 * 1024;

/// Buffers kept for reuse per thread; more are freed.
const POOL_KEEP: usize = 64;

#[derive(Default)]
pub struct BufferPool {
    free: Vec<Box<[u8]>>,
    allocated: usize,
}

impl BufferPool {
    pub fn take(&mut self) -> Box<[u8]> {
        match self.free.pop() {
            Some(b) => b,
            None => {
                self.allocated += 1;
                vec![0u8; BUFFER_SIZE].into_boxed_slice()
            }
        }
    }

    pub fn give(&mut self, buf: Box<[u8]>) {
        if self.free.len() < POOL_KEEP {
            self.free.push(buf);
        } else {
            self.allocated -= 1;
        }
    }

    /// Buffers that exist (in use or pooled).
    #[cfg(test)]
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    #[cfg(test)]
    pub fn pooled(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused() {
        let mut p = BufferPool::default();
        let a = p.take();
        assert_eq!(a.len(), BUFFER_SIZE);
        p.give(a);
        let _b = p.take();
        assert_eq!(p.allocated(), 1);
        assert_eq!(p.pooled(), 0);
    }
}
