//! Few-shot episodes: `N` classes drawn from the novel classes, then `K` support and `Q` query
//! images per class, all distinct. Episode `e` depends only on the seed, `(N, K, Q)`, `e` and the
//! novel labels, so every method (every cell) is scored on the same episodes.

use anyhow::{ensure, Result};

use mixbench_core::MixRng;

/// One episode: image indices into the novel pool, grouped by way (way `w` has support images
/// `support[w*K..(w+1)*K]` and queries `query[w*Q..(w+1)*Q]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    /// Novel class of each way.
    pub classes: Vec<usize>,
    /// Support images, `N * K`.
    pub support: Vec<usize>,
    /// Query images, `N * Q`.
    pub query: Vec<usize>,
}

/// Episode sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpisodeShape {
    /// Classes per episode.
    pub ways: usize,
    /// Support images per class.
    pub shots: usize,
    /// Query images per class.
    pub queries: usize,
}

/// Seed of episode `episode` of shape `shape` in a run seeded with `seed` (SplitMix64).
fn episode_seed(seed: u64, shape: EpisodeShape, episode: usize) -> u64 {
    let mut z = seed
        ^ (shape.ways as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (shape.shots as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ (shape.queries as u64).wrapping_mul(0x8CB9_2BA7_2F3D_8DD7)
        ^ (episode as u64).wrapping_mul(0xA24B_AED4_963E_E407);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draws `count` episodes of `shape` from images labelled `labels` (novel classes
/// `0..classes`). Every class must hold at least `K + Q` images and there must be at least `N`
/// classes.
pub fn sample_episodes(
    labels: &[i64],
    classes: usize,
    shape: EpisodeShape,
    count: usize,
    seed: u64,
) -> Result<Vec<Episode>> {
    let EpisodeShape {
        ways,
        shots,
        queries,
    } = shape;
    ensure!(
        ways >= 2 && shots >= 1 && queries >= 1,
        "few-shot episodes need ways >= 2, shots >= 1 and queries >= 1"
    );
    ensure!(
        classes >= ways,
        "{ways}-way episodes need at least {ways} novel classes, the data set has {classes}"
    );
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    if let Some(c) = by_class.iter().position(|v| v.len() < shots + queries) {
        anyhow::bail!(
            "{shots}-shot episodes with {queries} queries need {} images per novel class; class {c} has {}",
            shots + queries,
            by_class[c].len()
        );
    }
    Ok((0..count)
        .map(|e| {
            let mut rng = MixRng::seed_from(episode_seed(seed, shape, e));
            let chosen: Vec<usize> = rng.permutation(classes)[..ways]
                .iter()
                .map(|&c| c as usize)
                .collect();
            let mut support = Vec::with_capacity(ways * shots);
            let mut query = Vec::with_capacity(ways * queries);
            for &c in &chosen {
                let pool = &by_class[c];
                let order = rng.permutation(pool.len());
                let picked: Vec<usize> = order[..shots + queries]
                    .iter()
                    .map(|&i| pool[i as usize])
                    .collect();
                support.extend_from_slice(&picked[..shots]);
                query.extend_from_slice(&picked[shots..]);
            }
            Episode {
                classes: chosen,
                support,
                query,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(classes: usize, per: usize) -> Vec<i64> {
        (0..classes * per).map(|i| (i / per) as i64).collect()
    }

    const SHAPE: EpisodeShape = EpisodeShape {
        ways: 5,
        shots: 5,
        queries: 15,
    };

    #[test]
    fn support_and_query_are_disjoint_and_well_formed() {
        let l = labels(8, 20);
        let episodes = sample_episodes(&l, 8, SHAPE, 200, 3).unwrap();
        for ep in &episodes {
            assert_eq!(ep.support.len(), 25);
            assert_eq!(ep.query.len(), 75);
            let mut all: Vec<usize> = ep.support.iter().chain(&ep.query).copied().collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 100, "an image is in support and query, or twice");
            let mut classes = ep.classes.clone();
            classes.sort_unstable();
            classes.dedup();
            assert_eq!(classes.len(), 5);
            for (w, &c) in ep.classes.iter().enumerate() {
                assert!(ep.support[w * 5..(w + 1) * 5]
                    .iter()
                    .all(|&i| l[i] == c as i64));
                assert!(ep.query[w * 15..(w + 1) * 15]
                    .iter()
                    .all(|&i| l[i] == c as i64));
            }
        }
    }

    #[test]
    fn identical_seeds_give_identical_episodes() {
        let l = labels(10, 30);
        let a = sample_episodes(&l, 10, SHAPE, 50, 7).unwrap();
        let b = sample_episodes(&l, 10, SHAPE, 50, 7).unwrap();
        assert_eq!(a, b);
        // Episode e does not depend on how many are drawn.
        assert_eq!(sample_episodes(&l, 10, SHAPE, 10, 7).unwrap(), a[..10]);
        assert_ne!(sample_episodes(&l, 10, SHAPE, 50, 8).unwrap(), a);
    }

    #[test]
    fn too_few_images_or_classes_are_errors() {
        let l = labels(4, 30);
        assert!(sample_episodes(&l, 4, SHAPE, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("at least 5 novel classes"));
        let l = labels(6, 19);
        assert!(sample_episodes(&l, 6, SHAPE, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("need 20 images per novel class"));
    }
}
