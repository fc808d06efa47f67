import ModelFormat

enum ShapeKernels {
  static let registrations: [OpRegistration] = []
}
