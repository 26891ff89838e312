//! How users are split over user types, and how each user's RNG is seeded.

/// The per-user RNG seed: the run seed mixed with the user type and the user's number.
pub(crate) fn mix(seed: u64, name: &str, n: u64) -> u64 {
    // FNV-1a over the name, then splitmix64.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Split `users` over types given as (weight, fixed count).
pub(crate) fn distribute(users: u32, types: &[(u32, Option<u32>)]) -> Vec<u32> {
    let mut out = vec![0u32; types.len()];
    let mut left = users;
    for (i, (_, fixed)) in types.iter().enumerate() {
        if let Some(n) = fixed {
            let n = (*n).min(left);
            out[i] = n;
            left -= n;
        }
    }
    let weighted: Vec<usize> = (0..types.len()).filter(|i| types[*i].1.is_none()).collect();
    let total: u64 = weighted.iter().map(|i| u64::from(types[*i].0)).sum();
    if total == 0 || left == 0 {
        return out;
    }
    let mut given = 0u32;
    let mut remainders = Vec::new();
    for i in &weighted {
        let exact = u64::from(left) * u64::from(types[*i].0);
        let n = u32::try_from(exact / total).unwrap_or(u32::MAX);
        out[*i] = n;
        given += n;
        remainders.push((exact % total, *i));
    }
    // Largest remainder first; ties go to the type declared first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.into_iter().take((left - given) as usize) {
        out[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribute_fixed_then_weights() {
        assert_eq!(distribute(10, &[(1, None), (1, None)]), [5, 5]);
        assert_eq!(distribute(10, &[(3, None), (1, None)]), [8, 2]);
        assert_eq!(distribute(3, &[(1, None), (1, None)]), [2, 1]);
        assert_eq!(distribute(10, &[(1, Some(2)), (1, None)]), [2, 8]);
        assert_eq!(distribute(1, &[(1, Some(2)), (1, None)]), [1, 0]);
        assert_eq!(distribute(0, &[(1, None)]), [0]);
        assert_eq!(distribute(7, &[(0, None), (2, None)]), [0, 7]);
    }

    #[test]
    fn seeds_differ_per_user_and_type() {
        assert_ne!(mix(1, "A", 0), mix(1, "A", 1));
        assert_ne!(mix(1, "A", 0), mix(1, "B", 0));
        assert_eq!(mix(1, "A", 0), mix(1, "A", 0));
    }
}
