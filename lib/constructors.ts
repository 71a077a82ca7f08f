/**
 * Constructors that behave like node's net.Socket and net.Server. Those are ES5 functions:
 * callable without `new`, and called as `Base.call(this, ...)` by the classes node and
 * libraries build on them (tls.TLSSocket, tty.ReadStream, http.Server...). ES classes forbid
 * both, so the facade exports plain functions that share its classes' prototypes: `new` builds
 * the same objects as the classes, subclassing and `instanceof` work, and V8 keeps its fast
 * allocation path (a Proxy or Reflect.construct wrapper costs ~30 us per socket).
 */

type NodeClass = abstract new (...args: any[]) => object;

/**
 * Makes `instanceof ctor` true for every object node's class built, as it was for node's own
 * constructor: a server's accepted TCP connections, for instance, are plain net.Sockets.
 * Subclasses of `ctor` keep the ordinary prototype check.
 */
export function acceptNodeInstances(ctor: object, nodeClass: NodeClass): void {
  Object.defineProperty(ctor, Symbol.hasInstance, {
    configurable: true,
    value(this: unknown, value: unknown): boolean {
      if (this === ctor) return value instanceof nodeClass;
      return Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
}

/**
 * A function standing in for `facadeClass` (same prototype and statics). `init` does what the
 * class's constructor does, on `self`: called with `new`, without it (a new object, as node's
 * `Socket(options)`), or as `Base.call(this, ...)` from a class built on `nodeClass` (the object
 * is initialised in place).
 */
export function nodeStyleConstructor(facadeClass: object, nodeClass: NodeClass, init: (self: any, a?: any, b?: any) => void): any {
  function Ctor(this: any, a?: any, b?: any): any {
    if (!new.target && !(this instanceof nodeClass)) return new (Ctor as any)(a, b);
    init(this, a, b);
  }
  Ctor.prototype = (facadeClass as { prototype: object }).prototype;
  Object.setPrototypeOf(Ctor, facadeClass);
  acceptNodeInstances(Ctor, nodeClass);
  return Ctor;
}
