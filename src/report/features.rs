//! What a superposition researcher looks at in a `W` (Elhage et al. 2022, "Toy Models of
//! Superposition"): per feature `i` with column `w_i` and `w_hat_i = w_i / |w_i|`,
//!
//! ```text
//! norm            |w_i|                              (represented when above a threshold, 0.5)
//! superposition   sum_{j != i} (w_hat_i . w_j)^2     (interference of the others on i's direction)
//! dimensionality  D_i = |w_i|^2 / sum_j (w_hat_i . w_j)^2
//! ```
//!
//! and for the whole model the dimensions per feature `m / |W|_F^2`. A zero column has norm,
//! superposition and dimensionality `0`. Plain `f64` statistics: a presentation, not a claim.

use crate::kernel::model::Mat;
use serde::Serialize;

/// The default norm above which a feature counts as represented (Elhage et al.).
pub const REPRESENTED_NORM: f64 = 0.5;

/// One feature's statistics.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Feature {
    pub norm: f64,
    pub represented: bool,
    pub superposition: f64,
    pub dimensionality: f64,
    /// The bias `b_i`, when the model has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<f64>,
}

/// The statistics of a whole `W` (`m x n`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Features {
    pub threshold: f64,
    pub represented: usize,
    /// `m / |W|_F^2` (infinite for `W = 0`).
    pub dimensions_per_feature: f64,
    pub features: Vec<Feature>,
}

/// The statistics of `W` (and its bias), with `threshold` for "represented".
pub fn features(w: &Mat<f64>, bias: Option<&[f64]>, threshold: f64) -> Features {
    let g = w.gram();
    let n = g.rows;
    let features: Vec<Feature> = (0..n)
        .map(|i| {
            let sq = *g.get(i, i);
            let norm = sq.sqrt();
            // (w_hat_i . w_j)^2 = G_ij^2 / |w_i|^2
            let (superposition, dimensionality) = if sq > 0.0 {
                let others: f64 = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| g.get(i, j).powi(2) / sq)
                    .sum();
                (others, sq / (sq + others))
            } else {
                (0.0, 0.0)
            };
            Feature {
                norm,
                represented: norm > threshold,
                superposition,
                dimensionality,
                bias: bias.map(|b| b[i]),
            }
        })
        .collect();
    let frob: f64 = (0..n).map(|i| g.get(i, i)).sum();
    Features {
        threshold,
        represented: features.iter().filter(|f| f.represented).count(),
        dimensions_per_feature: w.rows as f64 / frob,
        features,
    }
}

impl Features {
    /// A text table, one line a feature, with `W`'s column beside it.
    pub fn render(&self, w: &Mat<f64>) -> String {
        let mut out = format!(
            "represented features (norm > {}): {} of {}; dimensions per feature m/|W|_F^2 = {:.6}\n",
            self.threshold,
            self.represented,
            self.features.len(),
            self.dimensions_per_feature
        );
        let has_bias = self.features.iter().any(|f| f.bias.is_some());
        out += &format!(
            "feature  norm       superposition  dimensionality{}  column of W\n",
            if has_bias { "  bias      " } else { "" }
        );
        for (i, f) in self.features.iter().enumerate() {
            let col: Vec<String> = (0..w.rows)
                .map(|r| format!("{:+.6}", w.get(r, i)))
                .collect();
            let bias = f.bias.map_or(String::new(), |b| format!("  {b:+.6} "));
            out += &format!(
                "{i:7}  {:<9.6}  {:<13.6}  {:<14.6}{bias}  [{}]\n",
                f.norm,
                f.superposition,
                f.dimensionality,
                col.join(", ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand values: columns e1, e1, (0, 1/2) and 0 in R^2.
    #[test]
    fn hand_values() {
        let w = Mat {
            rows: 2,
            cols: 4,
            data: vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0],
        };
        let f = features(&w, None, 0.5);
        // Features 0 and 1 share a direction: superposition 1, D = 1/2 each.
        assert_eq!(f.features[0].superposition, 1.0);
        assert_eq!(f.features[0].dimensionality, 0.5);
        assert!(f.features[0].represented);
        // Feature 2 is alone, norm 1/2 (not above the threshold): D = 1.
        assert_eq!(f.features[2].norm, 0.5);
        assert_eq!(f.features[2].dimensionality, 1.0);
        assert!(!f.features[2].represented);
        assert_eq!(f.features[3].dimensionality, 0.0);
        assert_eq!(f.represented, 2);
        // m / |W|_F^2 = 2 / (1 + 1 + 1/4)
        assert_eq!(f.dimensions_per_feature, 2.0 / 2.25);
    }
}
