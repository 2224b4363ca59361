import { spawn } from 'node:child_process';
const c = spawn('pnpm', ['run', 's'], { stdio: 'inherit', detached: true });
c.on('exit', (code, sig) => console.log('pnpm exit', code, sig));
setTimeout(() => process.kill(c.pid, 'SIGINT'), 1500);
