extension Tensor {
  /// Copies out the tensors that are views into a larger buffer when, together, they cover less than
  /// half of it: a weight read from a model file points into the file's buffer, which one such view
  /// keeps entirely alive. Once most weights are folded into new tensors or packed and dropped, the
  /// few left over (biases, a classifier matrix) would otherwise pin every byte of the file.
  /// Views covering most of their parent stay views (copying them would only add memory).
  public static func detachSparseViews<C: MutableCollection>(_ tensors: inout C) where C.Element == Tensor {
    var covered: [ObjectIdentifier: Int] = [:]
    for t in tensors {
      if let p = t.buffer.parent { covered[ObjectIdentifier(p), default: 0] += t.buffer.count }
    }
    for i in tensors.indices {
      guard let p = tensors[i].buffer.parent, let c = covered[ObjectIdentifier(p)], c < p.count / 2,
            let copy = try? Buffer(copying: tensors[i].buffer.bytes) else { continue }
      // A failed copy (out of memory) leaves the view in place: correct, only larger.
      tensors[i].buffer = copy
    }
  }
}
