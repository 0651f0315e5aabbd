//! A hasher for integer keys (ids, cell keys, slots, pairs of them): a multiply-and-rotate
//! mix, far cheaper than SipHash. Keys come from stores and datasets, not from a network
//! peer, so flooding resistance is not needed here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// See the [module documentation](self).
#[derive(Clone, Copy, Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        // The product's low bits depend only on the key's low bits, and tables index by
        // the low bits: fold the well-mixed high half in and mix once more (keys with a
        // common stride, such as multiples of 1024, would otherwise share buckets).
        let x = (self.0 ^ (self.0 >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^ (x >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_i64(&mut self, x: i64) {
        self.write_u64(x as u64);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn write_isize(&mut self, x: isize) {
        self.write_u64(x as u64);
    }
}

/// A `HashMap` keyed by integers, hashed with [`IntHasher`].
pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn strided_keys_spread_over_low_bits() {
        let b = BuildHasherDefault::<IntHasher>::default();
        let buckets: std::collections::HashSet<u64> =
            (0..1024u64).map(|i| b.hash_one(i << 20) & 1023).collect();
        assert!(buckets.len() > 600, "{} buckets of 1024", buckets.len());
    }
}
