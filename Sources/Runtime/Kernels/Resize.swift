import ModelFormat

enum ResizeKernels {
  static let registrations: [OpRegistration] = []
}
