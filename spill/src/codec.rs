//! How blocks become bytes. Any serde type spills through bincode 1.3 (fixed-width
//! little-endian integers, so the bytes do not depend on the build); memory use is estimated
//! from the element size plus a sample of the encoded sizes, so heap data (strings, vectors)
//! counts too.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Element types a block can hold.
pub trait Spillable: Serialize + DeserializeOwned + Send + Sync + 'static + Sized {
    /// Estimated in-memory bytes of a block of `items` (what the budget is charged).
    fn estimate_bytes(items: &[Self]) -> usize {
        mem_bytes(items)
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Spillable for T {}

pub(crate) fn encode<T: Spillable>(items: &[T], out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serialize_into(out, items).map_err(|e| e.to_string())
}

pub(crate) fn decode<T: Spillable>(bytes: &[u8]) -> Result<Vec<T>, String> {
    bincode::deserialize(bytes).map_err(|e| e.to_string())
}

/// Estimated in-memory bytes of `items`: the vector's slots, plus heap data estimated from
/// the encoded size of up to 64 sampled elements beyond their fixed part.
pub(crate) fn mem_bytes<T: Spillable>(items: &[T]) -> usize {
    let slot = std::mem::size_of::<T>().max(1);
    let n = items.len();
    if n == 0 {
        return 0;
    }
    let step = (n / 64).max(1);
    let mut sampled = 0usize;
    let mut encoded = 0usize;
    for x in items.iter().step_by(step).take(64) {
        encoded += bincode::serialized_size(x).map_or(slot as u64, |s| s) as usize;
        sampled += 1;
    }
    let per_item_heap = (encoded / sampled).saturating_sub(slot);
    n * (slot + per_item_heap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_estimates() {
        let v: Vec<(u64, String)> = (0..1000).map(|i| (i, format!("word{i}"))).collect();
        let mut buf = Vec::new();
        encode(&v, &mut buf).unwrap();
        assert_eq!(decode::<(u64, String)>(&buf).unwrap(), v);
        assert!(mem_bytes(&v) >= 1000 * std::mem::size_of::<(u64, String)>());
        assert_eq!(mem_bytes::<u64>(&[1, 2, 3]), 24);
        assert!(decode::<(u64, String)>(&buf[..buf.len() / 2]).is_err());
    }
}
