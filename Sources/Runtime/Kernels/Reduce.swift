import ModelFormat

enum ReduceKernels {
  static let registrations: [OpRegistration] = []
}
