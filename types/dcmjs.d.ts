// dcmjs ships no type declarations; the parts Cairn uses are typed where they are used.
declare module 'dcmjs' {
  const dcmjs: any;
  export default dcmjs;
}
