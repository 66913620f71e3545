"""Reinforcement-learning programs written for PyTorch, trimmed (tiny networks, a few
updates, a small deterministic environment in NumPy inside the program): CleanRL's PPO
(discrete and continuous actions), SAC, DQN and TD3, PyTorch's DQN tutorial (Double DQN),
and pytorch/examples' REINFORCE and actor-critic. Each runs with PyTorch and with ``import
torch`` read as ``import chainrule as torch``, from PyTorch's initial weights; PyTorch's
random draws (``randn_like``, ``torch.normal``, ``randperm``, the distributions' ``sample``
and the noise of ``rsample``) are recorded and given to chainrule's run in the same order.
Losses, actions and final weights must agree in float64 (see ``test_torch_programs``)."""

import pytest

import chainrule.distributions.continuous
from test_torch_programs_generative import _compare_with_pytorch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _samplers(lib):
    """The distributions' samplers a program reaches (beyond ``torch.randn`` and the like):
    what ``sample`` returns, and the standard normal noise of ``Normal.rsample``."""
    d = lib.distributions
    noise = (torch.distributions.normal, "_standard_normal") if lib is torch else (
        chainrule.distributions.continuous, "noise")
    return [(lib, "normal"), (d.Normal, "sample"), (d.Categorical, "sample"), noise]


# two small environments, NumPy only, deterministic from their seed: CartPole's dynamics
# (vectorised, episodes cut at a few steps so that GAE and the targets see dones) and a
# point mass pushed by a force in [-1, 1]
ENVS = '''
import numpy as np


class CartPole:
    single_observation_space_shape = (4,)
    n_actions = 2

    def __init__(self, num_envs, seed, max_steps=5):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.max_steps = num_envs, max_steps

    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=(self.num_envs, 4))
        self.t = np.zeros(self.num_envs, dtype=int)
        return self.state.copy()

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(np.asarray(action) == 1, 10.0, -10.0)
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + 0.05 * theta_dot ** 2 * sintheta) / 1.1
        thetaacc = (9.8 * sintheta - costheta * temp) / (0.5 * (4.0 / 3.0 - 0.1 * costheta ** 2 / 1.1))
        xacc = temp - 0.05 * thetaacc * costheta / 1.1
        self.state = np.stack([x + 0.02 * x_dot, x_dot + 0.02 * xacc,
                               theta + 0.02 * theta_dot, theta_dot + 0.02 * thetaacc], axis=1)
        self.t += 1
        done = (np.abs(self.state[:, 0]) > 2.4) | (np.abs(self.state[:, 2]) > 0.2095) | (self.t >= self.max_steps)
        reward = np.ones(self.num_envs)
        if done.any():
            self.state[done] = self.rng.uniform(-0.05, 0.05, size=(int(done.sum()), 4))
            self.t[done] = 0
        return self.state.copy(), reward, done


class PointMass:
    single_observation_space_shape = (3,)
    single_action_space_shape = (1,)
    low, high = -1.0, 1.0

    def __init__(self, num_envs, seed, max_steps=4):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.max_steps = num_envs, max_steps

    def reset(self):
        self.pos = self.rng.uniform(-1, 1, size=self.num_envs)
        self.vel = np.zeros(self.num_envs)
        self.t = np.zeros(self.num_envs, dtype=int)
        return self.obs()

    def obs(self):
        return np.stack([self.pos, self.vel, self.t / self.max_steps], axis=1)

    def sample_action(self):
        return self.rng.uniform(self.low, self.high, size=(self.num_envs, 1))

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(self.num_envs), self.low, self.high)
        self.vel = 0.9 * self.vel + 0.1 * a
        self.pos = self.pos + 0.1 * self.vel
        reward = -self.pos ** 2 - 0.1 * a ** 2
        self.t += 1
        done = self.t >= self.max_steps
        if done.any():
            self.pos[done] = self.rng.uniform(-1, 1, size=int(done.sum()))
            self.vel[done], self.t[done] = 0.0, 0
        return self.obs(), reward, done


class ReplayBuffer:
    """CleanRL's stable-baselines3 buffer, reduced: NumPy arrays, batches as tensors."""

    def __init__(self, size, obs_dim, act_dim, seed, act_dtype=np.float64):
        self.observations = np.zeros((size, obs_dim))
        self.next_observations = np.zeros((size, obs_dim))
        self.actions = np.zeros((size, act_dim), dtype=act_dtype)
        self.rewards = np.zeros((size, 1))
        self.dones = np.zeros((size, 1))
        self.pos, self.full, self.size = 0, False, size
        self.rng = np.random.default_rng(seed)

    def add(self, obs, next_obs, actions, rewards, dones):
        for i in range(len(obs)):
            self.observations[self.pos] = obs[i]
            self.next_observations[self.pos] = next_obs[i]
            self.actions[self.pos] = actions[i]
            self.rewards[self.pos] = rewards[i]
            self.dones[self.pos] = dones[i]
            self.pos = (self.pos + 1) % self.size
            self.full = self.full or self.pos == 0

    def sample(self, batch_size):
        inds = self.rng.integers(0, self.size if self.full else self.pos, size=batch_size)
        return ReplayBufferSamples(torch.as_tensor(self.observations[inds]), torch.from_numpy(self.actions[inds]),
                                   torch.as_tensor(self.next_observations[inds], dtype=torch.float64),
                                   torch.from_numpy(self.dones[inds]), torch.tensor(self.rewards[inds]))
'''

PROGRAMS: dict[str, str] = {}

# CleanRL ppo.py: orthogonal init, GAE in a reversed loop, normalised advantages, clipped
# surrogate and value loss, entropy bonus, shuffled minibatches, clip_grad_norm_, Adam
# (eps=1e-5) with its learning rate annealed through param_groups
PROGRAMS["ppo"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.categorical import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        obs_dim = np.array(envs.single_observation_space_shape).prod()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, envs.n_actions), std=0.01),
        )

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        logits = self.actor(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


def build():
    return Agent(CartPole(2, 0))


def data(rng):
    return int(rng.integers(1000))


def train(agent, seed):
    num_envs, num_steps, num_iterations, update_epochs, num_minibatches = 2, 8, 3, 2, 2
    learning_rate, gamma, gae_lambda, clip_coef, ent_coef, vf_coef = 2.5e-2, 0.99, 0.95, 0.2, 0.01, 0.5
    max_grad_norm, target_kl = 0.5, None
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    np.random.seed(seed)
    envs = CartPole(num_envs, seed)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

    obs = torch.zeros((num_steps, num_envs) + envs.single_observation_space_shape)
    actions = torch.zeros((num_steps, num_envs))
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))

    next_obs = torch.Tensor(envs.reset())
    next_done = torch.zeros(num_envs)
    out = []
    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow

        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, terminations = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, np.zeros_like(terminations))
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)

        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values

        b_obs = obs.reshape((-1,) + envs.single_observation_space_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,))
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        b_inds = np.arange(batch_size)
        clipfracs = []
        for epoch in range(update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]

                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()

                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef

                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()

            if target_kl is not None and approx_kl > target_kl:
                break

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        out.append([v_loss.item(), pg_loss.item(), entropy_loss.item(), old_approx_kl.item(), approx_kl.item(),
                    np.mean(clipfracs), explained_var, grad_norm, optimizer.param_groups[0]["lr"]])
    out.append([actions, advantages])
    return out
'''

# CleanRL ppo_continuous_action.py: a state-independent log-std parameter, Normal
# policy with log-probs and entropies summed over the action dims, clipped actions
PROGRAMS["ppo_continuous"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.normal import Normal

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        obs_dim = np.array(envs.single_observation_space_shape).prod()
        act_dim = np.prod(envs.single_action_space_shape)
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 1), std=1.0),
        )
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, act_dim), std=0.01),
        )
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        action_mean = self.actor_mean(x)
        action_logstd = self.actor_logstd.expand_as(action_mean)
        action_std = torch.exp(action_logstd)
        probs = Normal(action_mean, action_std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


def build():
    return Agent(PointMass(2, 0))


def data(rng):
    return int(rng.integers(1000))


def train(agent, seed):
    num_envs, num_steps, num_iterations, update_epochs, num_minibatches = 2, 6, 2, 2, 2
    learning_rate, gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 3e-2, 0.99, 0.95, 0.2, 0.0, 0.5, 0.5
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    envs = PointMass(num_envs, seed)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)
    obs = torch.zeros((num_steps, num_envs) + envs.single_observation_space_shape)
    actions = torch.zeros((num_steps, num_envs) + envs.single_action_space_shape)
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))
    next_obs = torch.Tensor(envs.reset())
    next_done = torch.zeros(num_envs)
    out = []
    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations
        optimizer.param_groups[0]["lr"] = frac * learning_rate
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, next_done = envs.step(np.clip(action.cpu().numpy(), envs.low, envs.high))
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values
        b_obs = obs.reshape((-1,) + envs.single_observation_space_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + envs.single_action_space_shape)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
        for epoch in range(update_epochs):
            b_inds = torch.randperm(batch_size)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[start:start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss = torch.max(-mb_advantages * ratio,
                                    -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
        out.append([v_loss.item(), pg_loss.item(), entropy_loss.item()])
    out.append([actions, advantages])
    return out
'''

# CleanRL sac_continuous_action.py: tanh-squashed Normal by rsample with the log-prob
# correction, twin Q networks, polyak-averaged targets (in place on .data, by copy_ under
# no_grad, by lerp_), automatic entropy tuning through a log_alpha leaf
PROGRAMS["sac"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''
LOG_STD_MAX = 2
LOG_STD_MIN = -5


class SoftQNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod()
                             + np.prod(env.single_action_space_shape), 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc3 = nn.Linear(8, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class Actor(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod(), 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc_mean = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.fc_logstd = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.register_buffer("action_scale", torch.tensor((env.high - env.low) / 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.tensor((env.high + env.low) / 2.0, dtype=torch.float32))

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        mean = self.fc_mean(x)
        log_std = self.fc_logstd(x)
        log_std = torch.tanh(log_std)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def get_action(self, x):
        mean, log_std = self(x)
        std = log_std.exp()
        normal = torch.distributions.Normal(mean, std)
        x_t = normal.rsample()
        y_t = torch.tanh(x_t)
        action = y_t * self.action_scale + self.action_bias
        log_prob = normal.log_prob(x_t)
        log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + 1e-6)
        log_prob = log_prob.sum(1, keepdim=True)
        mean = torch.tanh(mean) * self.action_scale + self.action_bias
        return action, log_prob, mean


def build():
    env = PointMass(2, 0)
    nets = nn.ModuleDict(dict(actor=Actor(env), qf1=SoftQNetwork(env), qf2=SoftQNetwork(env),
                              qf1_target=SoftQNetwork(env), qf2_target=SoftQNetwork(env)))
    nets["qf1_target"].load_state_dict(nets["qf1"].state_dict())
    nets["qf2_target"].load_state_dict(nets["qf2"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, qf1, qf2, qf1_target, qf2_target = (nets[k] for k in ("actor", "qf1", "qf2", "qf1_target", "qf2_target"))
    total_timesteps, learning_starts, batch_size, gamma, tau = 10, 3, 4, 0.99, 0.1
    policy_frequency, target_network_frequency, policy_lr, q_lr = 2, 1, 3e-3, 1e-2
    envs = PointMass(2, seed)
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=q_lr)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=policy_lr)
    target_entropy = -torch.prod(torch.Tensor(envs.single_action_space_shape)).item()
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = optim.Adam([log_alpha], lr=q_lr)
    rb = ReplayBuffer(32, 3, 1, seed)
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = envs.sample_action()
        else:
            actions, _, _ = actor.get_action(torch.Tensor(obs))
            actions = actions.detach().cpu().numpy()
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            data = rb.sample(batch_size)
            with torch.no_grad():
                next_state_actions, next_state_log_pi, _ = actor.get_action(data.next_observations)
                qf1_next_target = qf1_target(data.next_observations, next_state_actions)
                qf2_next_target = qf2_target(data.next_observations, next_state_actions)
                min_qf_next_target = torch.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi
                next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * min_qf_next_target.view(-1)
            qf1_a_values = qf1(data.observations, data.actions).view(-1)
            qf2_a_values = qf2(data.observations, data.actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            if global_step % policy_frequency == 0:
                for _ in range(policy_frequency):
                    pi, log_pi, _ = actor.get_action(data.observations)
                    qf1_pi = qf1(data.observations, pi)
                    qf2_pi = qf2(data.observations, pi)
                    min_qf_pi = torch.min(qf1_pi, qf2_pi)
                    actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
                    actor_optimizer.zero_grad()
                    actor_loss.backward()
                    actor_optimizer.step()
                    with torch.no_grad():
                        _, log_pi, _ = actor.get_action(data.observations)
                    alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
                    a_optimizer.zero_grad()
                    alpha_loss.backward()
                    a_optimizer.step()
                    alpha = log_alpha.exp().item()
                out.append([actor_loss.item(), alpha_loss.item(), alpha])
            if global_step % target_network_frequency == 0:
                for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
                    target_param.data.mul_(1 - tau)
                    target_param.data.add_(tau * param.data)
                with torch.no_grad():
                    for param, target_param in zip(qf2.parameters(), qf2_target.parameters()):
                        if param.ndim == 2:
                            target_param.copy_(tau * param + (1 - tau) * target_param)
                        else:
                            target_param.lerp_(param, tau)
            out.append([qf1_loss.item(), qf2_loss.item(), qf1_a_values, next_q_value])
    out.append([log_alpha, actor.get_action(torch.Tensor(obs))[2]])
    return out
'''

# a TanhNormal policy as CORL's CQL/IQL write it (TransformedDistribution of a Normal by
# TanhTransform(cache_size=1), Independent over the action dims), with SAC's losses, the
# target networks updated through their state_dicts
PROGRAMS["sac_tanh_normal"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from collections import namedtuple
from copy import deepcopy
from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class TanhGaussianPolicy(nn.Module):
    def __init__(self, state_dim, action_dim, max_action, log_std_min=-20.0, log_std_max=2.0):
        super().__init__()
        self.base_network = nn.Sequential(nn.Linear(state_dim, 8), nn.ReLU(), nn.Linear(8, 2 * action_dim))
        self.max_action, self.log_std_min, self.log_std_max = max_action, log_std_min, log_std_max

    def forward(self, observations, deterministic=False):
        base_network_output = self.base_network(observations)
        mean, log_std = torch.split(base_network_output, base_network_output.shape[-1] // 2, dim=-1)
        log_std = torch.clamp(log_std, self.log_std_min, self.log_std_max)
        action_distribution = Independent(
            TransformedDistribution(Normal(mean, torch.exp(log_std)), TanhTransform(cache_size=1)), 1)
        if deterministic:
            action_sample = torch.tanh(mean)
        else:
            action_sample = action_distribution.rsample()
        log_prob = action_distribution.log_prob(action_sample)
        return self.max_action * action_sample, log_prob


class FullyConnectedQFunction(nn.Module):
    def __init__(self, observation_dim, action_dim):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(observation_dim + action_dim, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, observations, actions):
        input_tensor = torch.cat([observations, actions], dim=-1)
        return torch.squeeze(self.network(input_tensor), dim=-1)


class Scalar(nn.Module):
    def __init__(self, init_value):
        super().__init__()
        self.constant = nn.Parameter(torch.tensor(init_value, dtype=torch.float64))

    def forward(self):
        return self.constant


def soft_update(target, source, tau):
    for target_param, source_param in zip(target.parameters(), source.parameters()):
        target_param.data.copy_((1 - tau) * target_param.data + tau * source_param.data)


def build():
    nets = nn.ModuleDict(dict(actor=TanhGaussianPolicy(3, 1, 1.0), critic_1=FullyConnectedQFunction(3, 1),
                              critic_2=FullyConnectedQFunction(3, 1), log_alpha=Scalar(0.0)))
    nets["target_critic_1"] = deepcopy(nets["critic_1"])
    nets["target_critic_2"] = deepcopy(nets["critic_2"])
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, critic_1, critic_2, log_alpha = nets["actor"], nets["critic_1"], nets["critic_2"], nets["log_alpha"]
    target_1, target_2 = nets["target_critic_1"], nets["target_critic_2"]
    envs = PointMass(3, seed)
    rb = ReplayBuffer(16, 3, 1, seed)
    obs = envs.reset()
    for _ in range(4):
        actions = envs.sample_action()
        next_obs, rewards, dones = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, dones)
        obs = next_obs
    actor_optimizer = torch.optim.Adam(actor.parameters(), 3e-3)
    critic_optimizer = torch.optim.Adam(list(critic_1.parameters()) + list(critic_2.parameters()), 3e-3)
    alpha_optimizer = torch.optim.Adam(log_alpha.parameters(), lr=3e-3)
    target_entropy = -np.prod(envs.single_action_space_shape).item()
    out = []
    for step in range(3):
        observations, actions, next_observations, dones, rewards = rb.sample(6)
        rewards, dones = rewards.squeeze(-1), dones.squeeze(-1)
        new_actions, log_pi = actor(observations)
        alpha_loss = -(log_alpha() * (log_pi + target_entropy).detach()).mean()
        alpha = log_alpha().exp() * 1.0
        q_new_actions = torch.min(critic_1(observations, new_actions), critic_2(observations, new_actions))
        policy_loss = (alpha * log_pi - q_new_actions).mean()
        q1_predicted = critic_1(observations, actions)
        q2_predicted = critic_2(observations, actions)
        with torch.no_grad():
            new_next_actions, next_log_pi = actor(next_observations)
            target_q_values = torch.min(target_1(next_observations, new_next_actions),
                                        target_2(next_observations, new_next_actions))
            target_q_values = target_q_values - alpha * next_log_pi
            td_target = rewards + (1.0 - dones) * 0.99 * target_q_values
        qf_loss = F.mse_loss(q1_predicted, td_target.detach()) + F.mse_loss(q2_predicted, td_target.detach())
        alpha_optimizer.zero_grad()
        alpha_loss.backward()
        alpha_optimizer.step()
        actor_optimizer.zero_grad()
        policy_loss.backward()
        actor_optimizer.step()
        critic_optimizer.zero_grad()
        qf_loss.backward()
        critic_optimizer.step()
        soft_update(target_1, critic_1, 0.05)
        soft_update(target_2, critic_2, 0.05)
        out.append([alpha_loss, policy_loss, qf_loss, log_pi, new_actions])
    with torch.no_grad():
        out.append(actor(torch.as_tensor(obs), deterministic=True))
    return out
'''

# CleanRL dqn.py: epsilon-greedy by argmax, a NumPy replay buffer, the TD target by max over
# the target network, gather along the actions, the target network by polyak on .data
PROGRAMS["dqn"] = '''
import random
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class QNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.network = nn.Sequential(
            nn.Linear(np.array(env.single_observation_space_shape).prod(), 8), nn.ReLU(),
            nn.Linear(8, 8), nn.ReLU(),
            nn.Linear(8, env.n_actions),
        )

    def forward(self, x):
        return self.network(x)


def linear_schedule(start_e, end_e, duration, t):
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


def build():
    envs = CartPole(2, 0)
    nets = nn.ModuleDict(dict(q_network=QNetwork(envs), target_network=QNetwork(envs)))
    nets["target_network"].load_state_dict(nets["q_network"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    q_network, target_network = nets["q_network"], nets["target_network"]
    random.seed(seed)
    envs = CartPole(2, seed)
    optimizer = optim.Adam(q_network.parameters(), lr=1e-2)
    rb = ReplayBuffer(32, 4, 1, seed, act_dtype=np.int64)
    total_timesteps, learning_starts, train_frequency, target_network_frequency = 14, 3, 2, 4
    gamma, tau = 0.99, 0.5
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        epsilon = linear_schedule(1.0, 0.05, 0.5 * total_timesteps, global_step)
        if random.random() < epsilon:
            actions = np.array([random.randrange(envs.n_actions) for _ in range(envs.num_envs)])
        else:
            q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            if global_step % train_frequency == 0:
                data = rb.sample(5)
                with torch.no_grad():
                    target_max, _ = target_network(data.next_observations).max(dim=1)
                    td_target = data.rewards.flatten() + gamma * target_max * (1 - data.dones.flatten())
                old_val = q_network(data.observations).gather(1, data.actions).squeeze()
                loss = F.mse_loss(td_target, old_val)
                out.append([loss.item(), old_val.mean().item(), actions])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if global_step % target_network_frequency == 0:
                for target_network_param, q_network_param in zip(target_network.parameters(), q_network.parameters()):
                    target_network_param.data.copy_(
                        tau * q_network_param.data + (1.0 - tau) * target_network_param.data
                    )
    return out
'''

# PyTorch's DQN tutorial (reinforcement_q_learning.py) with Double DQN's target: Transition
# namedtuples in a deque, non-final masks, SmoothL1Loss and huber_loss, clip_grad_value_,
# AdamW(amsgrad=True), the target's state_dict blended key by key and loaded back
PROGRAMS["dqn_tutorial"] = '''
import math
import random
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
''' + ENVS + '''
Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))


class ReplayMemory(object):
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()
        self.layer1 = nn.Linear(n_observations, 8)
        self.layer2 = nn.Linear(8, 8)
        self.layer3 = nn.Linear(8, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


def build():
    nets = nn.ModuleDict(dict(policy_net=DQN(4, 2), target_net=DQN(4, 2)))
    nets["target_net"].load_state_dict(nets["policy_net"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 4, 0.99, 0.9, 0.05, 10, 0.05, 1e-2
    policy_net, target_net = nets["policy_net"], nets["target_net"]
    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(100)
    random.seed(seed)
    env = CartPole(1, seed, max_steps=4)
    steps_done = 0
    out = []

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(2)]], dtype=torch.long)

    def optimize_model(loss_fn):
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE)
        with torch.no_grad():
            best = policy_net(non_final_next_states).argmax(dim=1, keepdim=True)
            next_state_values[non_final_mask] = target_net(non_final_next_states).gather(1, best).squeeze(1)
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        loss = loss_fn(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        out.append(loss)

    for i_episode in range(3):
        state = torch.tensor(env.reset(), dtype=torch.float64)
        for t in count():
            action = select_action(state)
            observation, reward, done = env.step(action.item())
            reward = torch.tensor([reward.item()])
            next_state = None if done[0] else torch.tensor(observation, dtype=torch.float64)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model(nn.SmoothL1Loss() if i_episode % 2 else (lambda a, b: F.huber_loss(a, b, delta=0.5)))
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if done[0]:
                out.append(t + 1)
                break
    return out
'''

# CleanRL td3_continuous_action.py: exploration by torch.normal, target policy smoothing
# with clamped noise, twin critics, delayed policy updates, targets by lerp_
PROGRAMS["td3"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class QNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod()
                             + np.prod(env.single_action_space_shape), 8)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        return self.fc2(F.relu(self.fc1(x)))


class Actor(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod(), 8)
        self.fc_mu = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.register_buffer("action_scale", torch.tensor((env.high - env.low) / 2.0, dtype=torch.float64))
        self.register_buffer("action_bias", torch.tensor((env.high + env.low) / 2.0, dtype=torch.float64))

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc_mu(x))
        return x * self.action_scale + self.action_bias


def build():
    env = PointMass(2, 0)
    nets = nn.ModuleDict(dict(actor=Actor(env), qf1=QNetwork(env), qf2=QNetwork(env)))
    for k in ("actor", "qf1", "qf2"):
        nets["target_" + k] = type(nets[k])(env)
        nets["target_" + k].load_state_dict(nets[k].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, qf1, qf2 = nets["actor"], nets["qf1"], nets["qf2"]
    target_actor, qf1_target, qf2_target = nets["target_actor"], nets["target_qf1"], nets["target_qf2"]
    envs = PointMass(2, seed)
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-2)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=1e-2)
    rb = ReplayBuffer(32, 3, 1, seed)
    total_timesteps, learning_starts, exploration_noise, policy_noise, noise_clip = 9, 2, 0.1, 0.2, 0.5
    gamma, tau, policy_frequency = 0.99, 0.1, 2
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = envs.sample_action()
        else:
            with torch.no_grad():
                actions = actor(torch.Tensor(obs))
                actions += torch.normal(0, actor.action_scale * exploration_noise)
                actions = actions.cpu().numpy().clip(envs.low, envs.high)
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            data = rb.sample(4)
            with torch.no_grad():
                clipped_noise = (torch.randn_like(data.actions) * policy_noise).clamp(
                    -noise_clip, noise_clip
                ) * target_actor.action_scale
                next_state_actions = (target_actor(data.next_observations) + clipped_noise).clamp(envs.low, envs.high)
                qf1_next_target = qf1_target(data.next_observations, next_state_actions)
                qf2_next_target = qf2_target(data.next_observations, next_state_actions)
                min_qf_next_target = torch.min(qf1_next_target, qf2_next_target)
                next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * min_qf_next_target.view(-1)
            qf1_a_values = qf1(data.observations, data.actions).view(-1)
            qf2_a_values = qf2(data.observations, data.actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            if global_step % policy_frequency == 0:
                actor_loss = -qf1(data.observations, actor(data.observations)).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                for net, target in ((actor, target_actor), (qf1, qf1_target), (qf2, qf2_target)):
                    for param, target_param in zip(net.parameters(), target.parameters()):
                        target_param.data.lerp_(param.data, tau)
                out.append(actor_loss.item())
            out.append([qf1_loss.item(), qf2_loss.item(), next_q_value])
    return out
'''

# pytorch/examples reinforcement_learning/reinforce.py: Categorical over softmax probs,
# saved log-probs, discounted returns built by insert(0, ...), torch.tensor of the list
PROGRAMS["reinforce"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 16)
        self.dropout = nn.Dropout(p=0.0)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def build():
    return Policy()


def data(rng):
    return int(rng.integers(1000))


def train(policy, seed):
    gamma = 0.99
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    env = CartPole(1, seed, max_steps=6)

    def select_action(state):
        state = torch.from_numpy(state).unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = []
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss

    out = []
    for i_episode in range(3):
        state, ep_reward = env.reset()[0], 0
        for t in range(1, 100):
            action = select_action(state)
            state, reward, done = env.step([action])
            state, reward = state[0], reward[0] * (1 + t % 3)
            policy.rewards.append(reward)
            ep_reward += reward
            if done[0]:
                break
        out.append([finish_episode(), ep_reward])
    return out
'''

# pytorch/examples reinforcement_learning/actor_critic.py: SavedAction namedtuples,
# advantages from value.item(), smooth_l1_loss against torch.tensor([R]), torch.stack
PROGRAMS["actor_critic"] = '''
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''
SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 16)
        self.action_head = nn.Linear(16, 2)
        self.value_head = nn.Linear(16, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def build():
    return Policy()


def data(rng):
    return int(rng.integers(1000))


def train(model, seed):
    gamma = 0.99
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    env = CartPole(1, seed, max_steps=5)

    def select_action(state):
        state = torch.from_numpy(state)
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss

    out = []
    for i_episode in range(3):
        state = env.reset()[0]
        for t in range(1, 100):
            action = select_action(state)
            state, reward, done = env.step([action])
            state = state[0]
            model.rewards.append(float(reward[0]) * (1 + t % 2))
            if done[0]:
                break
        out.append(finish_episode())
    return out
'''

# an n-step A2C over a few environments with continuous actions (ikostrikov's
# pytorch-a2c-ppo-acktr style): Independent(Normal) policy, returns by a reversed loop,
# RMSprop(eps=1e-5, alpha=0.99), clip_grad_norm_
PROGRAMS["a2c"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions import Independent, Normal

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class ActorCritic(nn.Module):
    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.base = nn.Sequential(nn.Linear(obs_dim, 8), nn.Tanh())
        self.mu = nn.Linear(8, act_dim)
        self.logstd = nn.Parameter(torch.zeros(act_dim))
        self.v = nn.Linear(8, 1)

    def forward(self, x):
        h = self.base(x)
        return Independent(Normal(self.mu(h), self.logstd.exp()), 1), self.v(h).squeeze(-1)


def build():
    return ActorCritic(3, 1)


def data(rng):
    return int(rng.integers(1000))


def train(model, seed):
    num_envs, num_steps, gamma = 3, 4, 0.9
    envs = PointMass(num_envs, seed, max_steps=3)
    optimizer = optim.RMSprop(model.parameters(), lr=7e-3, eps=1e-5, alpha=0.99)
    obs = torch.as_tensor(envs.reset())
    out = []
    for update in range(3):
        log_probs, values, rewards, masks, entropies = [], [], [], [], []
        for step in range(num_steps):
            dist, value = model(obs)
            action = dist.sample()
            next_obs, reward, done = envs.step(action.numpy())
            log_probs.append(dist.log_prob(action))
            entropies.append(dist.entropy())
            values.append(value)
            rewards.append(torch.as_tensor(reward))
            masks.append(torch.from_numpy(1.0 - done))
            obs = torch.as_tensor(next_obs)
        with torch.no_grad():
            _, next_value = model(obs)
        R = next_value
        returns = []
        for step in reversed(range(num_steps)):
            R = rewards[step] + gamma * R * masks[step]
            returns.insert(0, R)
        returns = torch.stack(returns)
        values = torch.stack(values)
        log_probs = torch.stack(log_probs)
        advantages = returns - values
        value_loss = advantages.pow(2).mean()
        action_loss = -(advantages.detach() * log_probs).mean()
        dist_entropy = torch.stack(entropies).mean()
        optimizer.zero_grad()
        (value_loss * 0.5 + action_loss - dist_entropy * 0.01).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        out.append([value_loss, action_loss, dist_entropy])
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_rl_program_gives_pytorchs_values(name):
    _compare_with_pytorch(PROGRAMS[name], _samplers)
