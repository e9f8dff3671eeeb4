//! The seven known triangle-free strongly regular graphs, and the ReLU configurations they give
//! (`proofs/spectral-bound.md`, "Where it is tight").
//!
//! For such a graph with adjacency matrix `A`, eigenvalues `k > r > s` and multiplicities
//! `1, f, g`, the columns of an orthonormal basis of the `s`-eigenspace (`g x n`) are the
//! directions of a configuration in `R^g`: its Gram matrix is a multiple of the projector `P_s`,
//! negative exactly on the edges, and at the best scale its ReLU first-order loss meets the
//! spectral bound. The pentagon is the regular polygon family; the other six are built here:
//! Petersen (Kneser `K(5, 2)`), Clebsch (folded 5-cube), Hoffman-Singleton (Robertson's
//! pentagons and pentagrams), and Gewirtz, the `M22` graph and Higman-Sims from the Steiner
//! system `S(3, 6, 22)` (the octads of the extended binary Golay code through two fixed points).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

/// A triangle-free strongly regular graph: name, adjacency matrix, and the spectrum
/// `(k, r, s)` with the multiplicity `g` of `s` (the dimension of the configuration).
pub struct Graph {
    pub name: &'static str,
    pub adjacency: Vec<Vec<u8>>,
    pub k: i64,
    pub r: i64,
    pub s: i64,
    pub g: usize,
}

fn from_edges(n: usize, adjacent: impl Fn(usize, usize) -> bool) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..n).map(|j| u8::from(i != j && adjacent(i, j))).collect())
        .collect()
}

/// Petersen: the 2-subsets of `{0..4}`, adjacent when disjoint.
fn petersen() -> Vec<Vec<u8>> {
    let pairs: Vec<u32> = (0u32..32).filter(|x| x.count_ones() == 2).collect();
    from_edges(pairs.len(), |i, j| pairs[i] & pairs[j] == 0)
}

/// Clebsch: 4-bit words, adjacent when they differ in 1 or 4 bits.
fn clebsch() -> Vec<Vec<u8>> {
    from_edges(16, |i, j| matches!((i ^ j).count_ones(), 1 | 4))
}

/// Hoffman-Singleton (Robertson): pentagons `P_h[i]` (`i ~ i +- 1`), pentagrams `Q_j[k]`
/// (`k ~ k +- 2`), and `P_h[i] ~ Q_j[k]` when `k = h j + i (mod 5)`.
fn hoffman_singleton() -> Vec<Vec<u8>> {
    let split = |v: usize| (v / 25, (v / 5) % 5, v % 5);
    from_edges(50, |x, y| {
        let ((qx, a, i), (qy, b, j)) = (split(x), split(y));
        match (qx, qy) {
            (0, 0) => a == b && ((i + 1) % 5 == j || (j + 1) % 5 == i),
            (1, 1) => a == b && ((i + 2) % 5 == j || (j + 2) % 5 == i),
            (0, 1) => j == (a * b + i) % 5,
            _ => i == (b * a + j) % 5,
        }
    })
}

/// The 77 blocks of `S(3, 6, 22)` as 22-bit masks: the octads (weight-8 words) of the extended
/// binary Golay code that contain coordinates 22 and 23, without them. The code is the cyclic
/// `[23, 12, 7]` code of `g(x) = 1 + x^2 + x^4 + x^5 + x^6 + x^10 + x^11` with a parity bit.
fn steiner_blocks() -> Vec<u32> {
    let g: u32 = 0b1100_0111_0101; // bits 0, 2, 4, 5, 6, 10, 11
    let mut blocks = Vec::new();
    for msg in 0u32..4096 {
        let mut word = 0u32;
        for b in 0..12 {
            if msg >> b & 1 == 1 {
                word ^= g << b;
            }
        }
        let word = word | ((word.count_ones() & 1) << 23);
        if word.count_ones() == 8 && word >> 22 & 0b11 == 0b11 {
            blocks.push(word & ((1 << 22) - 1));
        }
    }
    blocks
}

/// The `M22` graph: the 77 blocks, adjacent when disjoint.
fn m22() -> Vec<Vec<u8>> {
    let b = steiner_blocks();
    from_edges(b.len(), |i, j| b[i] & b[j] == 0)
}

/// Gewirtz: the 56 blocks missing point 0, adjacent when disjoint.
fn gewirtz() -> Vec<Vec<u8>> {
    let b: Vec<u32> = steiner_blocks()
        .into_iter()
        .filter(|x| x & 1 == 0)
        .collect();
    from_edges(b.len(), |i, j| b[i] & b[j] == 0)
}

/// Higman-Sims: a vertex `inf`, the 22 points and the 77 blocks; `inf` ~ every point, a point ~
/// the blocks through it, two blocks ~ when disjoint.
fn higman_sims() -> Vec<Vec<u8>> {
    let b = steiner_blocks();
    let kind = |v: usize| match v {
        0 => (0, 0),
        1..=22 => (1, v - 1),
        _ => (2, v - 23),
    };
    from_edges(100, |x, y| match (kind(x), kind(y)) {
        ((0, _), (1, _)) | ((1, _), (0, _)) => true,
        ((1, p), (2, k)) | ((2, k), (1, p)) => b[k] >> p & 1 == 1,
        ((2, k), (2, l)) => b[k] & b[l] == 0,
        _ => false,
    })
}

/// The six graphs built here (the pentagon is the polygon family).
pub fn all() -> Vec<Graph> {
    let g = |name, adjacency, (k, r, s, g)| Graph {
        name,
        adjacency,
        k,
        r,
        s,
        g,
    };
    vec![
        g("petersen", petersen(), (3, 1, -2, 4)),
        g("clebsch", clebsch(), (5, 1, -3, 5)),
        g("hoffman-singleton", hoffman_singleton(), (7, 2, -3, 21)),
        g("gewirtz", gewirtz(), (10, 2, -4, 20)),
        g("m22", m22(), (16, 2, -6, 21)),
        g("higman-sims", higman_sims(), (22, 2, -8, 22)),
    ]
}

/// The graph with `n` vertices (`None` if none of the six has `n`).
pub fn with_vertices(n: usize) -> Option<Graph> {
    all().into_iter().find(|g| g.n() == n)
}

impl Graph {
    pub fn n(&self) -> usize {
        self.adjacency.len()
    }

    /// The directions: the columns of an orthonormal basis (`f64`, Gram-Schmidt twice) of the
    /// null space of `A - s I` (exact rational elimination), as `g x n`.
    pub fn directions(&self) -> Vec<Vec<f64>> {
        let n = self.n();
        let s = BigRational::from_integer(BigInt::from(self.s));
        let mut rows: Vec<Vec<BigRational>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let a = BigRational::from_integer(BigInt::from(self.adjacency[i][j]));
                        if i == j { a - &s } else { a }
                    })
                    .collect()
            })
            .collect();
        // Reduced row echelon form; free columns give the null space.
        let mut pivots = Vec::new();
        let mut row = 0;
        for col in 0..n {
            let Some(p) = (row..n).find(|&r| !rows[r][col].is_zero()) else {
                continue;
            };
            rows.swap(row, p);
            let inv = BigRational::one() / &rows[row][col];
            for x in rows[row].iter_mut() {
                *x *= &inv;
            }
            for r in 0..n {
                if r != row && !rows[r][col].is_zero() {
                    let f = rows[r][col].clone();
                    let pivot_row = rows[row].clone();
                    for (x, y) in rows[r].iter_mut().zip(&pivot_row) {
                        *x -= &f * y;
                    }
                }
            }
            pivots.push(col);
            row += 1;
        }
        let free: Vec<usize> = (0..n).filter(|c| !pivots.contains(c)).collect();
        let mut basis: Vec<Vec<f64>> = free
            .iter()
            .map(|&fc| {
                let mut v = vec![0.0; n];
                v[fc] = 1.0;
                for (r, &pc) in pivots.iter().enumerate() {
                    v[pc] = -crate::kernel::arith::rational_to_f64(&rows[r][fc]);
                }
                v
            })
            .collect();
        for _ in 0..2 {
            for i in 0..basis.len() {
                for j in 0..i {
                    let d: f64 = basis[i].iter().zip(&basis[j]).map(|(x, y)| x * y).sum();
                    let bj = basis[j].clone();
                    for (x, y) in basis[i].iter_mut().zip(&bj) {
                        *x -= d * y;
                    }
                }
                let norm = basis[i].iter().map(|x| x * x).sum::<f64>().sqrt();
                for x in basis[i].iter_mut() {
                    *x /= norm;
                }
            }
        }
        basis
    }
}
