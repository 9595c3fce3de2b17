// elementwise: out[i] = f(a[i]) for the activations, out[i] = a[i] ∘ b[i % b_len]
// for add and mul (b may be one row broadcast over every row of a).
//
// Bindings (group 0):
//   0  params : uniform     (n, b_len)
//   1  a      : array<f32>  read   [n]
//   2  b      : array<f32>  read   [b_len]     (add, mul only)
//   3  out    : array<f32>  write  [n]
//
// Workgroup: WG invocations (override; 256), one element each. Past 65535
// workgroups the grid wraps into y, so i = gid.x + gid.y · (WG · groups.x).
//
// add_scaled_row (in place): out[k] += b[row] · a[row · n + k] for k < n, with
//   params (n, row): adds row `row` of the matrix a, scaled by the value at
//   b[row], into out. NADE's a_{i+1} = a_i + W[:, i] · x_i, reading x_i
//   straight from the image the sampler just wrote.
//
// transpose: out = aᵀ for a [n / b_len, b_len] row-major, with params
//   (n, b_len = columns of a): a layout change, one element per invocation.
//
// gelu is the tanh approximation (as candle's `gelu`); its argument is
// clamped to ±10, where tanh is ±1 in f32, to avoid inf/inf in some tanh
// implementations.

override WG: u32;

struct Params {
    n: u32,
    b_len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = a[i] + b[i % p.b_len];
    }
}

@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = a[i] * b[i % p.b_len];
    }
}

@compute @workgroup_size(WG)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = max(a[i], 0.0);
    }
}

@compute @workgroup_size(WG)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        let x = a[i];
        let inner = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -10.0, 10.0);
        out[i] = 0.5 * x * (1.0 + tanh(inner));
    }
}

@compute @workgroup_size(WG)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        out[i] = 1.0 / (1.0 + exp(-a[i]));
    }
}

@compute @workgroup_size(WG)
fn softplus(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for large x.
        let x = a[i];
        out[i] = max(x, 0.0) + log(1.0 + exp(-abs(x)));
    }
}

@compute @workgroup_size(WG)
fn silu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        let x = a[i];
        out[i] = x / (1.0 + exp(-x));
    }
}

@compute @workgroup_size(WG)
fn add_scaled_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let k = index(gid, groups);
    if (k < p.n) {
        let row = p.b_len;
        out[k] += b[row] * a[row * p.n + k];
    }
}

@compute @workgroup_size(WG)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i < p.n) {
        let rows = p.n / p.b_len;
        out[(i % p.b_len) * rows + i / p.b_len] = a[i];
    }
}
