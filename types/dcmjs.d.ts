// dcmjs ships no type declarations; the parts Cairn uses are typed where they are used.
declare module 'dcmjs' {
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module, narrowed at each use
  const dcmjs: any;
  export default dcmjs;
}
