/** The browser console's entry: its stylesheet and the app, mounted on the page's `#app`. */
import { render } from 'preact';
import './styles.css';
import { App } from './ui/app.js';

render(<App />, document.getElementById('app')!);
