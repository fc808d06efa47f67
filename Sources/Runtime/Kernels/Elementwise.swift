import ModelFormat

enum ElementwiseKernels {
  static let registrations: [OpRegistration] = []
}
