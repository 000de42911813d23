//! Orders for large vectors.

/// Sorts by `key`, stable: the order is found on indices, then applied in place by swaps
/// along the permutation's cycles. For vectors of large elements (a plan's changes, a graph's
/// resources: hundreds of bytes each, tens of thousands of them), where the standard sort's
/// moves and its scratch buffer of half the vector showed in time and peak memory.
pub fn sort_by_swaps<T, K: Ord + ?Sized>(items: &mut [T], key: impl Fn(&T) -> &K) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| key(&items[a]).cmp(key(&items[b])));
    // Position i receives the element at order[i]; a finished position points at itself.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_swaps;
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard library's stable sort, ties kept in input order.
        #[test]
        fn sorting_by_cycles_is_a_stable_sort(keys in proptest::collection::vec(0u8..6, 0..60)) {
            let items: Vec<(u8, usize)> = keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(k, _)| k);
            let mut got = items;
            sort_by_swaps(&mut got, |(k, _)| k);
            prop_assert_eq!(got, expected);
        }
    }
}
