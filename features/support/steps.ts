// Every step definition and the World come from the reusable package, as they would for any
// service that runs vramseal scenarios of its own.
import '@vramseal/bdd-world/steps';
