// embedding: out[t, :] = table[ids[t], :], a row gather.
//
// Bindings (group 0):
//   0  params : uniform     (tokens, dim, vocab)
//   1  table  : array<f32>  read   [vocab, dim] row-major
//   2  ids    : array<u32>  read   [tokens]
//   3  out    : array<f32>  write  [tokens, dim]
//
// Workgroup: WG invocations (override; 256), one output element each; the
// grid wraps into y past 65535 groups. An id ≥ vocab yields a zero row
// (the driver rejects such ids from the host; GPU samplers cannot make them).

override WG: u32;

struct Params {
    tokens: u32,
    dim: u32,
    vocab: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn embedding_gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if (i >= p.tokens * p.dim) {
        return;
    }
    let id = ids[i / p.dim];
    var v = 0.0;
    if (id < p.vocab) {
        v = table[id * p.dim + i % p.dim];
    }
    out[i] = v;
}
