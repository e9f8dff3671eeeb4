use num_rational::BigRational;
use superbound::kernel::arith::Scalar;
use superbound::kernel::enclosure::*;
use superbound::kernel::model::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kmax: usize = args[1].parse().unwrap();
    let w = if let Some(path) = args.get(2) {
        Weights::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    } else {
        let (m, n) = (5, 20);
        let mut state: u64 = 12345;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64) / (1u64 << 31) as f64
        };
        let data: Vec<BigRational> = (0..m * n)
            .map(|_| {
                let x = next() * 0.8 - 0.4;
                BigRational::new(((x * 1000.0).round() as i64).into(), 1000.into())
            })
            .collect();
        Weights::new(Mat {
            rows: m,
            cols: n,
            data,
        })
    };
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let s = BigRational::new(1.into(), 100.into());
    for k in 1..=kmax {
        let t = std::time::Instant::now();
        let e = enclosure(&model, &w, &s, k, 8).unwrap();
        println!(
            "K={k} {:?} cost {:.3e} width {:.3e} lo {} hi {} P {:.3e}",
            t.elapsed(),
            e.cost,
            e.relative_width().to_f64(),
            e.lo.to_f64(),
            e.hi.to_f64(),
            e.tail_probability.to_f64()
        );
    }
}
