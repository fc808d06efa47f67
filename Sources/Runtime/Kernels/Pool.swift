import ModelFormat

enum PoolKernels {
  static let registrations: [OpRegistration] = []
}
