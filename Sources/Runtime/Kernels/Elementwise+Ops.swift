import ModelFormat

// The element functions of the unary ops (namespaced in ElementwiseKernels: names like `Log` are common), in spec order of the ONNX operator list. Attribute
// defaults are written in the registrations (Elementwise.swift).

extension ElementwiseKernels {
  struct Relu: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x > 0 ? x : 0 }
    var integerTypes: Set<DataType> { ElementTypes.signedInts }
    func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { x > 0 ? x : 0 }
  }

  struct LeakyRelu: UnaryOp {
    let alpha: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x < 0 ? T(alpha) * x : x }
  }

  struct Sigmoid: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T {
      // Stable on both sides: exp never overflows.
      if x >= 0 { return 1 / (1 + T.exp(-x)) }
      let e = T.exp(x)
      return e / (1 + e)
    }
  }

  struct HardSigmoid: UnaryOp {
    let alpha: Float, beta: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T { max(0, min(1, T(alpha) * x + T(beta))) }
  }

  struct HardSwish: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x * max(0, min(1, x / 6 + T(0.5))) }
  }

  struct Tanh: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { T.tanh(x) }
  }

  struct Elu: UnaryOp {
    let alpha: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x < 0 ? T(alpha) * T.expm1(x) : x }
  }

  struct Selu: UnaryOp {
    let alpha: Float, gamma: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x > 0 ? T(gamma) * x : T(gamma) * T(alpha) * T.expm1(x) }
  }

  struct Celu: UnaryOp {
    let alpha: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T {
      let a = T(alpha)
      return max(0, x) + min(0, a * T.expm1(x / a))
    }
  }

  struct Softplus: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T {
      // log(1 + e^x) without overflow for large x.
      x > 0 ? x + T.log1p(T.exp(-x)) : T.log1p(T.exp(x))
    }
  }

  struct Softsign: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x / (1 + abs(x)) }
  }

  struct Mish: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x * T.tanh(Softplus()(x)) }
  }

  struct Gelu: UnaryOp {
    let tanhApproximation: Bool
    func callAsFunction<T: MathFloat>(_ x: T) -> T {
      if tanhApproximation {
        let k = T(0.7978845608028654)  // sqrt(2/pi)
        return T(0.5) * x * (1 + T.tanh(k * (x + T(0.044715) * x * x * x)))
      }
      return T(0.5) * x * (1 + T.erf(x * T(0.7071067811865476)))
    }
  }

  struct ThresholdedRelu: UnaryOp {
    let alpha: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x > T(alpha) ? x : 0 }
  }

  struct Shrink: UnaryOp {
    let bias: Float, lambd: Float
    func callAsFunction<T: MathFloat>(_ x: T) -> T {
      x < -T(lambd) ? x + T(bias) : (x > T(lambd) ? x - T(bias) : 0)
    }
    var integerTypes: Set<DataType> { ElementTypes.ints }
    func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { T(saturating: self(x.asDouble)) }
  }

  struct Sqrt: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x.squareRoot() }
  }

  struct Exp: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { T.exp(x) }
  }

  struct Log: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { T.log(x) }
  }

  struct Neg: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { -x }
    var integerTypes: Set<DataType> { ElementTypes.signedInts }
    func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { 0 &- x }
  }

  struct Abs: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { abs(x) }
    var integerTypes: Set<DataType> { ElementTypes.ints }
    func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { x < 0 ? 0 &- x : x }
  }

  struct Reciprocal: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { 1 / x }
  }

  struct Floor: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x.rounded(.down) }
  }

  struct Ceil: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x.rounded(.up) }
  }

  struct Round: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x.rounded(.toNearestOrEven) }
  }

  struct Sign: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : x) }
    var integerTypes: Set<DataType> { ElementTypes.ints }
    func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { x == 0 ? 0 : (x > 0 ? 1 : 0 &- 1) }
  }

  struct Erf: UnaryOp {
    func callAsFunction<T: MathFloat>(_ x: T) -> T { T.erf(x) }
  }

  struct Sin: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.sin(x) } }
  struct Cos: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.cos(x) } }
  struct Tan: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.tan(x) } }
  struct Asin: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.asin(x) } }
  struct Acos: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.acos(x) } }
  struct Atan: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.atan(x) } }
  struct Sinh: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.sinh(x) } }
  struct Cosh: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.cosh(x) } }
  struct Asinh: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.asinh(x) } }
  struct Acosh: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.acosh(x) } }
  struct Atanh: UnaryOp { func callAsFunction<T: MathFloat>(_ x: T) -> T { T.atanh(x) } }
}
