//! Vertex id → global dense index, replicated on every worker.
//!
//! Ids in the store are arbitrary `u64`s. Loading numbers the vertices densely: worker `w`
//! owns the global range `starts[w]..starts[w + 1]`, in ascending id order. Most real and
//! generated graphs use ids close to `0..|V|`, so the map is a flat array when the largest
//! id is at most a few times the vertex count, and an open-addressing hash table otherwise.

/// Marks an empty slot.
const NONE: u32 = u32::MAX;

/// A read-only map from vertex id to global dense index.
#[derive(Clone, Debug)]
pub(crate) enum IdMap {
    /// `slots[id]` is the index of `id`, or `NONE`.
    Dense(Vec<u32>),
    /// Linear probing over a power-of-two table of `(id, index)`.
    Hashed { mask: usize, slots: Vec<(u64, u32)> },
}

/// murmur3's 64-bit finalizer: a cheap, well-mixed hash of a vertex id.
#[inline]
pub(crate) fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

impl IdMap {
    /// Builds the map from `(id, index)` pairs; ids must be distinct.
    pub(crate) fn build(n: usize, max_id: u64, pairs: impl Iterator<Item = (u64, u32)>) -> Self {
        if max_id <= 4 * n as u64 + 1024 {
            let mut slots = vec![NONE; max_id as usize + 1];
            for (id, ix) in pairs {
                slots[id as usize] = ix;
            }
            IdMap::Dense(slots)
        } else {
            let cap = (2 * n).next_power_of_two().max(16);
            let mask = cap - 1;
            let mut slots = vec![(0u64, NONE); cap];
            for (id, ix) in pairs {
                let mut h = fmix64(id) as usize & mask;
                while slots[h].1 != NONE {
                    h = (h + 1) & mask;
                }
                slots[h] = (id, ix);
            }
            IdMap::Hashed { mask, slots }
        }
    }

    /// The dense index of `id`, if it is a vertex.
    #[inline]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match self {
            IdMap::Dense(slots) => match slots.get(id as usize) {
                Some(&ix) if ix != NONE => Some(ix),
                _ => None,
            },
            IdMap::Hashed { mask, slots } => {
                let mut h = fmix64(id) as usize & mask;
                loop {
                    let (k, ix) = slots[h];
                    if ix == NONE {
                        return None;
                    }
                    if k == id {
                        return Some(ix);
                    }
                    h = (h + 1) & mask;
                }
            }
        }
    }

    /// Appends the dense index of each of `ids` that is a vertex to `out`; returns how many
    /// were not. A tight loop per variant: the lookups are independent, so their cache
    /// misses overlap.
    pub(crate) fn translate(&self, ids: &[u64], out: &mut Vec<u32>) -> usize {
        let before = out.len();
        match self {
            IdMap::Dense(slots) => out.extend(ids.iter().filter_map(|&id| {
                let ix = slots.get(id as usize).copied().unwrap_or(NONE);
                (ix != NONE).then_some(ix)
            })),
            IdMap::Hashed { .. } => out.extend(ids.iter().filter_map(|&id| self.get(id))),
        }
        ids.len() - (out.len() - before)
    }

    /// Approximate heap bytes.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            IdMap::Dense(s) => s.len() * 4,
            IdMap::Hashed { slots, .. } => slots.len() * 16,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_hashed_agree() {
        let ids: Vec<u64> = vec![3, 9, 0, 77, 5];
        let dense = IdMap::build(5, 77, ids.iter().enumerate().map(|(i, &v)| (v, i as u32)));
        assert!(matches!(dense, IdMap::Dense(_)));
        let sparse: Vec<u64> = ids.iter().map(|v| v * 1_000_000_007 + 1).collect();
        let hashed = IdMap::build(
            5,
            u64::MAX,
            sparse.iter().enumerate().map(|(i, &v)| (v, i as u32)),
        );
        assert!(matches!(hashed, IdMap::Hashed { .. }));
        for i in 0..5 {
            assert_eq!(dense.get(ids[i]), Some(i as u32));
            assert_eq!(hashed.get(sparse[i]), Some(i as u32));
        }
        assert_eq!(dense.get(4), None);
        for map in [&dense, &hashed] {
            let probe: Vec<u64> = if matches!(map, IdMap::Dense(_)) {
                vec![77, 4, 3, 1 << 40]
            } else {
                vec![sparse[3], 2, sparse[0], 7]
            };
            let mut out = vec![9];
            assert_eq!(map.translate(&probe, &mut out), 2);
            assert_eq!(out, [9, 3, 0]);
        }
        assert_eq!(dense.get(1 << 40), None);
        assert_eq!(hashed.get(2), None);
    }
}
