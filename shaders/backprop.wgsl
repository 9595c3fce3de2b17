// backprop: the pieces of a training step that are not matrix products
// (chapter 5's LoRA training). Every reduction runs inside one workgroup in
// workgroup memory: WGSL has no float atomics, and none are needed.
//
// Bindings (group 0), each entry point using some:
//   0  params : uniform     (rows, cols, then f32 constants c0…c6)
//   1  x      : array<f32>  read   [rows, cols]
//   2  gamma  : array<f32>  read   [cols]
//   3  dy     : array<f32>  read   [rows, cols]
//   4  base   : array<f32>  read   [rows, cols]
//   5  out    : array<f32>  write  [rows, cols]
//   6  out2   : array<f32>  write
//   7  labels : array<u32>  read   [rows]
//   8  theta  : array<f32>  read_write  the adapter's numbers
//   9  m1     : array<f32>  read_write  AdamW's first moment
//  10  m2     : array<f32>  read_write  AdamW's second moment
//
// rmsnorm_backward (one workgroup per row; c0 = eps):
//   y = x·r·γ with r = 1/√(mean(x²) + eps), so
//   dx = base + r·γ⊙dy − x·r³·Σ(γ⊙dy⊙x)/cols.
//   base is the gradient already flowing through the residual path.
// swiglu (one invocation per element): out = silu(x)·dy, where x is w1's
//   output and dy (binding 3) w3's.
// swiglu_backward: with g = silu(a)·b (a = x, b = base) and dg = dy,
//   out = da = dg·b·σ(a)·(1 + a·(1 − σ(a))), out2 = db = dg·silu(a).
// cross_entropy (one workgroup per row; c0 = scale): for logits x and label
//   t, out = scale·(softmax(x) − onehot(t)) and out2[row] = logsumexp(x) −
//   x[t], the row's −log p in nats. A label of 0xFFFFFFFF marks a position
//   the loss skips: its gradient is zero and so is its loss.
// weighted_cross_entropy: the same with row r's gradient scaled by
//   c0·base[r] (base is [rows] here): DPO weighs each poem's tokens by its
//   pair's σ(−β·h).
// adamw (one invocation per number; rows = count; c0 lr, c1 β1, c2 β2,
//   c3 ε, c4 weight decay, c5 1 − β1^t, c6 1 − β2^t): decoupled weight
//   decay as in Loshchilov & Hutter, then Adam's bias-corrected step:
//   θ ← θ·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
//   θ ← θ − lr·(m / c5) / (√(v / c6) + ε).  The gradient g is dy.
//
// Rows wrap into y past 65535 workgroups. WG is an override from
// compute/src/kernels/backprop.rs (64).

override WG: u32;

struct Params {
    rows: u32,
    cols: u32,
    c0: f32,
    c1: f32,
    c2: f32,
    c3: f32,
    c4: f32,
    c5: f32,
    c6: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> base: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> out2: array<f32>;
@group(0) @binding(7) var<storage, read> labels: array<u32>;
@group(0) @binding(8) var<storage, read_write> theta: array<f32>;
@group(0) @binding(9) var<storage, read_write> m1: array<f32>;
@group(0) @binding(10) var<storage, read_write> m2: array<f32>;

var<workgroup> partial: array<f32, WG>;
var<workgroup> partial2: array<f32, WG>;

const SKIP: u32 = 0xFFFFFFFFu;

fn sigmoid(a: f32) -> f32 {
    return 1.0 / (1.0 + exp(-a));
}

// Tree sums of `partial` (and `partial2`) across the workgroup.
fn reduce_sum(lid: u32) {
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        workgroupBarrier();
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
            partial2[lid] += partial2[lid + stride];
        }
    }
    workgroupBarrier();
}

fn row_of(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.x + wid.y * groups.x;
}

@compute @workgroup_size(WG)
fn rmsnorm_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let row = row_of(wid, groups);
    // Uniform control flow: every invocation of a workgroup shares its row.
    let live = row < p.rows;
    let at = min(row, p.rows - 1u) * p.cols;
    var sq = 0.0;
    var dot_ = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        let v = x[at + c];
        sq += v * v;
        dot_ += gamma[c] * dy[at + c] * v;
    }
    partial[lid] = sq;
    partial2[lid] = dot_;
    reduce_sum(lid);
    let r = inverseSqrt(partial[0] / f32(p.cols) + p.c0);
    let k = r * r * r * partial2[0] / f32(p.cols);
    if (live) {
        for (var c = lid; c < p.cols; c += WG) {
            out[at + c] = base[at + c] + r * gamma[c] * dy[at + c] - x[at + c] * k;
        }
    }
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if (i >= p.rows * p.cols) {
        return;
    }
    let a = x[i];
    out[i] = a * sigmoid(a) * dy[i];
}

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if (i >= p.rows * p.cols) {
        return;
    }
    let a = x[i];
    let s = sigmoid(a);
    out[i] = dy[i] * base[i] * s * (1.0 + a * (1.0 - s));
    out2[i] = dy[i] * a * s;
}

// One row of cross_entropy with the gradient scaled by `scale`; called by
// both entry points from uniform control flow (it has barriers).
fn cross_entropy_row(row: u32, lid: u32, scale: f32) {
    let live = row < p.rows;
    let r = min(row, p.rows - 1u);
    let at = r * p.cols;
    var m = -3.4e38;
    for (var c = lid; c < p.cols; c += WG) {
        m = max(m, x[at + c]);
    }
    partial[lid] = m;
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        workgroupBarrier();
        if (lid < stride) {
            partial[lid] = max(partial[lid], partial[lid + stride]);
        }
    }
    workgroupBarrier();
    let row_max = partial[0];
    workgroupBarrier();
    var z = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        z += exp(x[at + c] - row_max);
    }
    partial[lid] = z;
    partial2[lid] = 0.0;
    reduce_sum(lid);
    let total = partial[0];
    let label = labels[r];
    let skip = label == SKIP;
    if (live) {
        for (var c = lid; c < p.cols; c += WG) {
            var g = exp(x[at + c] - row_max) / total;
            if (c == label) {
                g -= 1.0;
            }
            out[at + c] = select(scale * g, 0.0, skip);
        }
        if (lid == 0u) {
            out2[r] = select(row_max + log(total) - x[at + min(label, p.cols - 1u)], 0.0, skip);
        }
    }
}

@compute @workgroup_size(WG)
fn cross_entropy(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    cross_entropy_row(row_of(wid, groups), lid, p.c0);
}

@compute @workgroup_size(WG)
fn weighted_cross_entropy(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let row = row_of(wid, groups);
    cross_entropy_row(row, lid, p.c0 * base[min(row, p.rows - 1u)]);
}

@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if (i >= p.rows) {
        return;
    }
    let g = dy[i];
    let m = p.c1 * m1[i] + (1.0 - p.c1) * g;
    let v = p.c2 * m2[i] + (1.0 - p.c2) * g * g;
    m1[i] = m;
    m2[i] = v;
    let decayed = theta[i] * (1.0 - p.c0 * p.c4);
    theta[i] = decayed - p.c0 * (m / p.c5) / (sqrt(v / p.c6) + p.c3);
}
