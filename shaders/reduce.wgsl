// reduce: row-wise softmax, layernorm and rmsnorm over a [rows, cols] matrix.
//
// Bindings (group 0):
//   0  params : uniform     (rows, cols, eps as f32 bits)
//   1  x      : array<f32>  read   [rows, cols] row-major
//   2  gamma  : array<f32>  read   [cols]   (layernorm, rmsnorm)
//   3  beta   : array<f32>  read   [cols]   (layernorm)
//   4  y      : array<f32>  write  [rows, cols]
//
// Workgroup: WG invocations (override; 256, a power of two) per row. Each
// invocation strides over the row, then a tree reduction in workgroup memory
// (WG · 4 bytes = 1 KiB) combines the partial results. Rows past 65535 wrap
// into the y dimension of the grid: row = wid.x + wid.y · groups.x.
// Statistics are two-pass (mean, then squared deviations) for accuracy.

override WG: u32;

struct Params {
    rows: u32,
    cols: u32,
    eps_bits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> scratch: array<f32, WG>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
    scratch[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        workgroupBarrier();
    }
    let total = scratch[0];
    workgroupBarrier();
    return total;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
    scratch[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            scratch[lid] = max(scratch[lid], scratch[lid + s]);
        }
        workgroupBarrier();
    }
    let best = scratch[0];
    workgroupBarrier();
    return best;
}

fn mean_of_row(base: u32, lid: u32) -> f32 {
    var acc = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        acc += x[base + c];
    }
    return reduce_sum(lid, acc) / f32(p.cols);
}

@compute @workgroup_size(WG)
fn softmax_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let row = wid.x + wid.y * groups.x;
    let lid = lid3.x;
    // Uniform across the workgroup, so the early return keeps barriers uniform.
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var m = -3.4e38;
    for (var c = lid; c < p.cols; c += WG) {
        m = max(m, x[base + c]);
    }
    m = reduce_max(lid, m);
    var s = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        s += exp(x[base + c] - m);
    }
    s = reduce_sum(lid, s);
    for (var c = lid; c < p.cols; c += WG) {
        y[base + c] = exp(x[base + c] - m) / s;
    }
}

@compute @workgroup_size(WG)
fn layernorm_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let row = wid.x + wid.y * groups.x;
    let lid = lid3.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    let mean = mean_of_row(base, lid);
    var v = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        let d = x[base + c] - mean;
        v += d * d;
    }
    let inv = inverseSqrt(reduce_sum(lid, v) / f32(p.cols) + bitcast<f32>(p.eps_bits));
    for (var c = lid; c < p.cols; c += WG) {
        y[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c];
    }
}

@compute @workgroup_size(WG)
fn rmsnorm_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let row = wid.x + wid.y * groups.x;
    let lid = lid3.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var ss = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        ss += x[base + c] * x[base + c];
    }
    let inv = inverseSqrt(reduce_sum(lid, ss) / f32(p.cols) + bitcast<f32>(p.eps_bits));
    for (var c = lid; c < p.cols; c += WG) {
        y[base + c] = x[base + c] * inv * gamma[c];
    }
}
