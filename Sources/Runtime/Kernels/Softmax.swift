import ModelFormat

enum SoftmaxKernels {
  static let registrations: [OpRegistration] = []
}
